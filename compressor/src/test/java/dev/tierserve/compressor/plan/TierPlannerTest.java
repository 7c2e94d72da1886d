package dev.tierserve.compressor.plan;

import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.OnnxModelWriter;
import dev.tierserve.store.FileVariantStore;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.UnreachedTarget;
import dev.tierserve.store.VariantStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
                .tiers(List.of(3.0)).methods(List.of("parallel")).runtime(RUNTIME).build());

        assertEquals(1, decisions.size());
        assertFalse(decisions.get(0).published());
        assertTrue(decisions.get(0).reason().contains("recorded"), decisions.get(0).reason());
        assertTrue(log.stream().anyMatch(l -> l.startsWith("planner: skipping parallel")), log.toString());
        assertTrue(log.stream().noneMatch(l -> l.startsWith("planner: running")), "nothing was compressed");
        // A record for another runtime does not count.
        List<String> other = new ArrayList<>();
        new TierPlanner(store, other::add).plan(PlanRequest.builder("minilm", parent).tiers(List.of(3.0))
                .methods(List.of("parallel")).runtime(RuntimeSettings.cpu(1, 1, 32)).calibrationTexts(8).testTexts(10)
                .build());
        assertTrue(other.stream().anyMatch(l -> l.startsWith("planner: running parallel")), other.toString());
    }

    @Test
    void aTierBelowItsMinimumQualityPublishesNothingAndSaysWhy() throws Exception {
        Path parent = parent();
        FileVariantStore store = VariantStore.filesystem(dir.resolve("store"));

        List<TierDecision> decisions = new TierPlanner(store, line -> { }).plan(PlanRequest.builder("minilm", parent)
                .tiers(List.of(1.2)).methods(List.of("trimllm")).runtime(RUNTIME).calibrationTexts(16).testTexts(20)
                .minQuality(0.999).build());

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
                .tiers(List.of(1.5)).methods(List.of("trimllm", "trimllm+ziplm")).runtime(RUNTIME)
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
}
