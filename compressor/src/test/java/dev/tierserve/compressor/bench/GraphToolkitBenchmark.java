package dev.tierserve.compressor.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.OnnxModelWriter;
import dev.tierserve.compressor.graph.edit.ChannelPruning;
import dev.tierserve.compressor.graph.edit.HeadPruning;
import dev.tierserve.compressor.graph.edit.LayerParallelism;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.latency.LatencyMeter;
import dev.tierserve.compressor.latency.LatencyReport;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * Figures for the graph toolkit on BGE-small: how long parsing, mapping, editing and writing take, and how
 * fast a few structurally edited variants run against the original (one intra-op thread, interleaved,
 * medians). The edits are structural only (which heads/channels go is arbitrary here): quality is for the
 * methods' benchmarks. Run: {@code mvn -B -DskipTests install && mvn -B -pl compressor -Pbenchmark test}.
 */
@Tag("benchmark")
class GraphToolkitBenchmark {

    private static final int REPEATS = 5;

    @TempDir
    Path dir;

    @Test
    void toolkitTimesAndEditedVariantLatency() throws Exception {
        Path file = TestModels.file(TestModels.BGE_SMALL);
        System.out.printf(Locale.ROOT, "%nGraph toolkit on BGE-small (%s), %d cores, Java %s%n", file.getFileName(),
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
        ModelProto model = time("parse (read 133 MB file)", () -> OnnxModelReader.read(file));
        StructureMap map = time("map (structure detection)", () -> StructureDetector.detect(model));
        time("edit: prune 4 heads in one layer", () -> HeadPruning.pruneHeads(model, map, 3, Set.of(0, 1, 2, 3)));
        time("edit: prune 768 channels in one layer", () -> ChannelPruning.pruneChannels(model, map, 3, range(768, 1536)));
        time("edit: drop one layer", () -> SubBlockRemoval.dropLayer(model, map, 5));
        time("edit: fuse one parallel pair", () -> LayerParallelism.parallelise(model, map, 10, 1, true));
        time("write (inline)", () -> {
            OnnxModelWriter.write(model, dir.resolve("model.onnx"));
            return null;
        });
        time("write (external data)", () -> OnnxModelWriter.builder().forceExternal(true).build()
                .writeTo(model, dir.resolve("external.onnx")));

        Map<String, ModelProto> variants = new java.util.LinkedHashMap<>();
        variants.put("original (12 layers, 12 heads, FFN 1536)", model);
        variants.put("half the heads in every layer", everyLayer(model, (m, mm, l) ->
                HeadPruning.pruneHeads(m, mm, l, range(6, 12))));
        variants.put("half the MLP channels in every layer", everyLayer(model, (m, mm, l) ->
                ChannelPruning.pruneChannels(m, mm, l, range(768, 1536))));
        variants.put("last 4 layers dropped", SubBlockRemoval.dropLastLayers(model, 4));
        variants.put("layers 4..11 as 4 fused parallel pairs", LayerParallelism.parallelise(model, map, 4, 4, true));
        variants.put("layers 4..11 as 4 plain parallel pairs", LayerParallelism.parallelise(model, map, 4, 4, false));

        for (int seq : new int[] {128}) {
            List<LatencyMeter.Candidate> candidates = new ArrayList<>();
            variants.forEach((name, m) -> candidates.add(new LatencyMeter.Candidate(name, m)));
            LatencyReport report = LatencyMeter.builder(RuntimeSettings.cpu(1, 1, seq)).warmupRuns(5).rounds(30).build()
                    .measure(candidates, syntheticBatch(1, seq));
            System.out.printf(Locale.ROOT, "%nEdited variants, batch 1 x seq %d, ONNX Runtime CPU:%n%s", seq,
                    report.render());
        }
    }

    private interface LayerEdit {
        ModelProto apply(ModelProto model, StructureMap map, int layer);
    }

    private static ModelProto everyLayer(ModelProto model, LayerEdit edit) {
        ModelProto current = model;
        for (int layer = 0; layer < 12; layer++) {
            current = edit.apply(current, StructureDetector.detect(current), layer);
        }
        return current;
    }

    private static Set<Integer> range(int from, int to) {
        return new TreeSet<>(IntStream.range(from, to).boxed().toList());
    }

    private static <T> T time(String what, Supplier<T> action) {
        long[] nanos = new long[REPEATS];
        T result = null;
        for (int i = 0; i < REPEATS; i++) {
            long start = System.nanoTime();
            result = action.get();
            nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        System.out.printf(Locale.ROOT, "  %-40s median %8.1f ms (of %d)%n", what, nanos[REPEATS / 2] / 1e6, REPEATS);
        return result;
    }

    /** Token ids spread over the vocabulary, no padding: latency does not depend on the words. */
    static EncodedBatch syntheticBatch(int batch, int seq) {
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1000 + (i * 7919L) % 20000;
            mask[i] = 1;
        }
        return new EncodedBatch(ids, mask, new long[batch * seq], batch, seq);
    }
}
