package dev.tierserve.compressor.plan;

import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.OnnxModelWriter;
import dev.tierserve.compressor.latency.Stopwatch;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.store.FileVariantStore;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.UnreachedTarget;
import dev.tierserve.store.VariantManifest;
import dev.tierserve.store.VariantStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The planner's choices on all-MiniLM-L6: what it skips and what it refuses to publish. */
class TierPlannerTest {

    private static final RuntimeSettings RUNTIME = RuntimeSettings.cpu(1, 1, 64);

    @TempDir
    Path dir;

    private Path parent() throws Exception {
        return TestModels.modelDirectory(dir.resolve("minilm"), TestModels.MINILM, TestModels.MINILM_TOKENIZER);
    }

    @Test
    void aMethodRecordedAsNotReachingATierOnThisRuntimeIsNotRunAgain() throws Exception {
        Path parent = parent();
        FileVariantStore store = VariantStore.filesystem(dir.resolve("store"));
        String sha = OnnxModelWriter.sha256(OnnxModelReader.read(parent));
        store.recordUnreached("minilm", "3x", new UnreachedTarget("minilm", sha, "parallel", 3.0, 1.06,
                RUNTIME, "pairs do not pay off", "2026-11-23T00:00:00Z"));
        List<String> log = new ArrayList<>();

        List<TierDecision> decisions = new TierPlanner(store, log::add).plan(PlanRequest.builder("minilm", parent)
                .tiers(List.of(3.0)).methods(List.of(Method.PARALLEL)).precisions(List.of(Precision.FLOAT32)).runtime(RUNTIME)
                .build());

        assertEquals(1, decisions.size());
        assertFalse(decisions.get(0).published());
        assertTrue(decisions.get(0).reason().contains("recorded"), decisions.get(0).reason());
        assertTrue(log.stream().anyMatch(l -> l.startsWith("planner: skipping parallel")), log.toString());
        assertTrue(log.stream().noneMatch(l -> l.startsWith("planner: running")), "nothing was compressed");
        // A record for another runtime does not count.
        List<String> other = new ArrayList<>();
        new TierPlanner(store, other::add).plan(PlanRequest.builder("minilm", parent).tiers(List.of(3.0))
                .methods(List.of(Method.PARALLEL)).precisions(List.of(Precision.FLOAT32)).runtime(RuntimeSettings.cpu(1, 1, 32))
                .calibrationTexts(8).testTexts(10)
                .build());
        assertTrue(other.stream().anyMatch(l -> l.startsWith("planner: running parallel")), other.toString());
    }

    @Test
    void aTierBelowItsMinimumQualityPublishesNothingAndSaysWhy() throws Exception {
        Path parent = parent();
        FileVariantStore store = VariantStore.filesystem(dir.resolve("store"));

        // The int8 parent, scripted to run twice as fast, is the one candidate; no quantized model keeps 0.99999.
        Stopwatch twiceAsFast = (candidate, run) -> {
            run.run();
            return candidate.equals("parent") ? 100_000 : 50_000;
        };
        List<TierDecision> decisions = new TierPlanner(store, line -> { }, twiceAsFast).plan(PlanRequest
                .builder("minilm", parent).tiers(List.of(1.2)).methods(List.of()).runtime(RUNTIME).testTexts(20)
                .minQuality(0.99999).build());

        TierDecision decision = decisions.get(0);
        assertFalse(decision.published(), decision.toString());
        assertFalse(decision.candidates().isEmpty());
        assertTrue(decision.candidates().stream().allMatch(c -> !c.chosen()
                && c.rejectedBecause().contains("below the tier's minimum")), decision.candidates().toString());
        assertEquals(List.of(), store.variants("minilm"));
        assertTrue(Files.notExists(store.root().resolve("minilm").resolve(FileVariantStore.TIERS_FILE)));
    }

    @Test
    void zipLmOnTopOfTheDepthResultReusesTheTrimLlmTrajectoryAndReachesTheTier() throws Exception {
        Path parent = parent();
        FileVariantStore store = VariantStore.filesystem(dir.resolve("store"));
        List<String> log = new ArrayList<>();

        List<TierDecision> decisions = new TierPlanner(store, log::add).plan(PlanRequest.builder("minilm", parent)
                .tiers(List.of(1.5)).methods(List.of(Method.TRIMLLM, Method.TRIMLLM_ZIPLM)).precisions(List.of(Precision.FLOAT32))
                .runtime(RUNTIME)
                .calibrationTexts(32).testTexts(20).build());
        log.forEach(System.out::println);
        System.out.println(decisions);

        assertEquals(1, log.stream().filter(l -> l.startsWith("TrimLLM step 1:")).count(),
                "one TrimLLM trajectory serves the tier and the depth step: " + log);
        assertTrue(log.stream().anyMatch(l -> l.startsWith(String.format(java.util.Locale.ROOT,
                "trimllm+ziplm 1.5x: ZipLM on top of trimllm"))), log.toString());
        TierDecision decision = decisions.get(0);
        assertTrue(decision.published(), decision.toString());
        Candidate combined = decision.candidates().stream().filter(c -> c.method().equals("trimllm+ziplm"))
                .findFirst().orElseThrow(() -> new AssertionError(decision.toString()));
        assertTrue(combined.measuredSpeedup() >= 1.5, combined.toString());
        assertTrue(decision.candidates().stream().anyMatch(c -> c.method().startsWith("trimllm")
                && !c.method().equals("trimllm+ziplm")), "TrimLLM's own variants are candidates too");
        assertTrue(decision.candidates().stream().noneMatch(c -> c.targetSpeedup() != 1.5),
                "the depth step is not a candidate of its own: " + decision.candidates());
    }

    @Test
    void int8ThatIsNotFasterOnTheRuntimeIsNotOfferedAndTheDecisionSaysWhy() throws Exception {
        Path parent = parent();
        FileVariantStore store = VariantStore.filesystem(dir.resolve("store"));
        List<String> log = new ArrayList<>();
        // A provider whose integer MatMuls are slow: the quantized parent takes 1.2 times the parent's time.
        Stopwatch slowInt8 = (candidate, run) -> {
            run.run();
            return candidate.equals("parent") ? 100_000 : 120_000;
        };

        TierDecision decision = new TierPlanner(store, log::add, slowInt8).plan(PlanRequest.builder("minilm", parent)
                .tiers(List.of(1.5)).methods(List.of()).runtime(RUNTIME).build()).get(0);

        assertFalse(decision.published(), decision.toString());
        assertEquals(1, decision.candidates().size(), decision.toString());
        Candidate int8 = decision.candidates().get(0);
        assertEquals("int8", int8.method());
        assertEquals(1 / 1.2, int8.measuredSpeedup(), 1e-9);
        assertTrue(int8.rejectedBecause().startsWith("int8 is not faster on cpu-t1-b1-s64: the quantized parent "
                + "measured 0.83x"), int8.rejectedBecause());
        assertTrue(log.stream().noneMatch(l -> l.contains("gain model")), "no gain model is fitted: " + log);
        assertTrue(log.stream().noneMatch(l -> l.startsWith("planner: evaluating")), "nothing to evaluate: " + log);
        assertEquals(List.of(), store.variants("minilm"));
    }

    @Test
    void aShortInt8CopyIsAskedForAgainFromABaseScaledByItsMiss() {
        // Seen on another encoder: ZipLM's 1.75x base for 3x measured 2.89x once quantized.
        CompressedVariant shortOfThree = new CompressedVariant("ziplm+int8", 3.0, null, 2.89, 50, 17.3, 0.1, "",
                Map.of("structuredMeasuredSpeedup", 1.75), 1);
        assertEquals(1.75 * 3 / 2.89 * (1 + Int8Stacking.MARGIN), Int8Stacking.retryBase(shortOfThree, 3.0), 1e-3);
        // A miss by a hair still asks for at least the smallest base worth a run.
        CompressedVariant nearlyParent = new CompressedVariant("ziplm+int8", 1.5, null, 1.49, 50, 33.6, 0.1, "",
                Map.of("structuredMeasuredSpeedup", 0.9), 1);
        assertEquals(Int8Stacking.MIN_BASE, Int8Stacking.retryBase(nearlyParent, 1.5), 1e-9);
    }

    /**
     * Scripted run times for the int8 stage: {@code parent} and {@code variant} take their base time, except that the
     * first 12 of 20 runs of {@code spiked} in the first comparison take {@code spike} more (a burst of load).
     */
    private static Stopwatch bursty(long parent, long variant, String spiked, long spike) {
        Map<String, Integer> calls = new HashMap<>();
        return (candidate, run) -> {
            int call = calls.merge(candidate, 1, Integer::sum) - 1;
            long base = candidate.equals("parent") ? parent : variant;
            return candidate.equals(spiked) && call < 20 && call % 5 < 3 ? base + spike : base;
        };
    }

    @Test
    void aBurstOfLoadNeitherCostsTheInt8ParentItsTierNorLetsASlowerOneThrough() throws Exception {
        Path parent = parent();
        // Unlabelled text: the evaluation trains no genre classifier, which this test does not look at.
        Path texts = Files.write(dir.resolve("texts.txt"), BrownCorpus.bundled().subList(0, 1100).stream()
                .map(TextSample::text).toList());
        PlanRequest request = PlanRequest.builder("minilm", parent).tiers(List.of(1.5)).methods(List.of())
                .precisions(List.of(Precision.INT8)).calibration(texts.toString()).runtime(RUNTIME).testTexts(20)
                .build();

        // Truly 1.6x; the burst makes the first comparison's median 0.53x.
        FileVariantStore store = VariantStore.filesystem(dir.resolve("store"));
        List<String> log = new ArrayList<>();
        TierDecision reached = new TierPlanner(store, log::add, bursty(160, 100, "variant", 200)).plan(request)
                .get(0);
        assertTrue(reached.published(), reached + "\n" + log);
        VariantManifest manifest = store.variant("minilm", reached.variantId()).orElseThrow().manifest();
        assertEquals("int8", manifest.method());
        assertEquals("int8", manifest.parameters().get("precision"));
        assertEquals(1.6, manifest.measuredSpeedup(), 1e-9);

        // Truly 1.4x; the burst on the parent makes the first comparison's median 4.4x.
        FileVariantStore other = VariantStore.filesystem(dir.resolve("other"));
        TierDecision refused = new TierPlanner(other, line -> { }, bursty(140, 100, "parent", 300)).plan(request)
                .get(0);
        assertFalse(refused.published(), refused.toString());
        assertEquals(1, refused.candidates().size());
        assertEquals("measured 1.40x < 1.5x", refused.candidates().get(0).rejectedBecause());
        assertEquals(List.of(), other.variants("minilm"));
    }
}
