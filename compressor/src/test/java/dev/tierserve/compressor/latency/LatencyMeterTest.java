package dev.tierserve.compressor.latency;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LatencyMeterTest {

    @TempDir
    Path dir;

    static EncodedBatch batch(int batch, int seq) {
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1000 + (i * 31L) % 5000;
            mask[i] = 1;
        }
        return new EncodedBatch(ids, mask, new long[ids.length], batch, seq);
    }

    /** The one timing assertion the issue asks for: half the layers (6 → 3) is a ~2x margin, far above noise. */
    @Test
    void ranksAModelWithHalfTheLayersFaster() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        ModelProto half = SubBlockRemoval.dropLastLayers(parent, 3);
        LatencyReport report = LatencyMeter.builder(RuntimeSettings.cpu(1, 1, 64)).warmupRuns(2).rounds(7).build()
                .measure(List.of(new LatencyMeter.Candidate("parent", parent), new LatencyMeter.Candidate("half", half)),
                        batch(1, 64));
        System.out.print(report.render());
        assertEquals(1.0, report.entry("parent").speedup());
        assertTrue(report.entry("half").speedup() > 1.0, report.render());
        assertThrows(IllegalArgumentException.class, () -> LatencyMeter.builder(RuntimeSettings.cpu(1, 2, 64)).build()
                .measure(List.of(new LatencyMeter.Candidate("parent", parent)), batch(1, 64)));
    }

    /**
     * Scripted durations (no clock): {@code parent} and {@code variant} take their base time; the runs listed in
     * {@code spikes} (by candidate, counted from 0) take {@code spike} more.
     */
    private static Stopwatch scripted(long parent, long variant, String spiked, Set<Integer> spikes, long spike) {
        Map<String, Integer> calls = new HashMap<>();
        return (candidate, run) -> {
            int call = calls.merge(candidate, 1, Integer::sum) - 1;
            long base = candidate.equals("parent") ? parent : variant;
            return candidate.equals(spiked) && spikes.contains(call) ? base + spike : base;
        };
    }

    /** 12 of the first block's 20 rounds: a burst of load on one model, more than half of the block. */
    private static final Set<Integer> BURST = Set.of(0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 17);

    private static LatencyMeter meter(Stopwatch stopwatch, int repeats) {
        return LatencyMeter.builder(RuntimeSettings.cpu(1, 1, 16)).warmupRuns(0).rounds(20).repeats(repeats)
                .stopwatch(stopwatch).build();
    }

    @Test
    void spikesOnTheVariantInOneBlockDoNotTurnAReachedTargetIntoAMiss() {
        ModelProto model = TestModels.load(TestModels.MINILM);
        // Truly 1.6x; during the burst the variant takes 300 instead of 100.
        LatencyReport undecided = meter(scripted(160, 100, "variant", BURST, 200), 0)
                .compare(model, model, batch(1, 16), 1.5);
        assertTrue(undecided.entry("variant").speedup() < 1.5, "one block alone is steered by the burst: "
                + undecided.render());
        assertTrue(undecided.entry("variant").speedupLow() < 1.5 && undecided.entry("variant").speedupHigh() >= 1.5,
                "and its interval says it cannot decide: " + undecided.render());

        LatencyReport report = meter(scripted(160, 100, "variant", BURST, 200), 3)
                .compare(model, model, batch(1, 16), 1.5);
        assertEquals(1, report.repeats(), report.render());
        assertEquals(40, report.rounds());
        assertEquals(1.6, report.entry("variant").speedup(), 1e-9, report.render());
        assertTrue(report.entry("variant").speedupLow() >= 1.5, report.render());
    }

    @Test
    void spikesOnTheParentDoNotLetAVariantBelowItsTargetThrough() {
        ModelProto model = TestModels.load(TestModels.MINILM);
        // Truly 1.4x; during the burst the parent takes 440 instead of 140.
        LatencyReport report = meter(scripted(140, 100, "parent", BURST, 300), 3)
                .compare(model, model, batch(1, 16), 1.5);
        assertEquals(1.4, report.entry("variant").speedup(), 1e-9, report.render());
        assertTrue(report.entry("variant").speedupHigh() < 1.5, report.render());
        assertEquals(1, report.repeats());
    }

    @Test
    void aVariantRightAtItsTargetIsDecidedByThePooledMedianAfterTheRepeats() {
        ModelProto model = TestModels.load(TestModels.MINILM);
        // Alternating 1.45x and 1.55x rounds: no number of rounds narrows the interval past 1.5.
        int[] call = {0};
        Stopwatch alternating = (candidate, run) -> candidate.equals("parent") ? 100
                : (call[0]++ % 2 == 0 ? 100 * 100 / 145 : 100 * 100 / 155);
        LatencyReport report = meter(alternating, 2).compare(model, model, batch(1, 16), 1.5);
        assertEquals(2, report.repeats(), "the repeats are bounded");
        assertEquals(60, report.rounds());
        // A plain measurement repeats nothing.
        assertEquals(0, meter(alternating, 2).compare(model, model, batch(1, 16)).repeats());
    }

    @Test
    void componentTableCoversEveryLevelAndIsReusedWhenItsKeyMatches() throws Exception {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 16);
        ComponentLatencyMeter meter = new ComponentLatencyMeter(settings, 1, 3);
        ComponentLatencyTable table = meter.loadOrMeasure(parent, batch(1, 16), dir);
        assertEquals(13, table.attentionMs().length, "0..12 heads");
        assertEquals(0.0, table.attention(0));
        assertEquals(1536, table.mlpLevels().get(0).width());
        assertEquals(1382, table.mlpLevels().get(1).width(), "density 0.9");
        assertTrue(table.mlpLevels().get(table.mlpLevels().size() - 1).width() < 1536 * 0.06);
        assertEquals(6, table.layers());
        assertEquals(settings, table.settings());

        Path file = dir.resolve(ComponentLatencyMeter.modelKey(parent) + "-cpu-t1-b1-s16.json");
        assertTrue(Files.exists(file));
        byte[] saved = Files.readAllBytes(file);
        ComponentLatencyTable again = meter.loadOrMeasure(parent, batch(1, 16), dir);
        assertArrayEquals(table.attentionMs(), again.attentionMs(), "read back, not measured again");
        assertEquals(table.mlpLevels(), again.mlpLevels());
        assertArrayEquals(saved, Files.readAllBytes(file));
    }
}
