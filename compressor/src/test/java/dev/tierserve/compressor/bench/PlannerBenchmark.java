package dev.tierserve.compressor.bench;

import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.plan.Candidate;
import dev.tierserve.compressor.plan.Method;
import dev.tierserve.compressor.plan.PlanRequest;
import dev.tierserve.compressor.plan.TierDecision;
import dev.tierserve.compressor.plan.TierPlanner;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.VariantStore;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The tier planner on BGE-small with ZipLM, TrimLLM and ZipLM on top of TrimLLM's depth result, CPU, one thread,
 * batch 1 x seq 128, tiers 1.5x and 2x, 300 held-out texts, CLS pooling: which candidate wins each tier and by how
 * much. Run: {@code mvn -B -DskipTests install && mvn -B -pl compressor -Pbenchmark test -Dtest=PlannerBenchmark};
 * the store is left in {@code compressor/target/benchmarks/planner-store}.
 */
@Tag("benchmark")
class PlannerBenchmark {

    @Test
    void bgeSmallDepthThenWidth() throws Exception {
        Path root = Path.of("target", "benchmarks", "planner-store");
        Path parent = TestModels.modelDirectory(root.resolveSibling("planner-parent"), TestModels.BGE_SMALL,
                TestModels.BGE_TOKENIZER);
        VariantStore store = VariantStore.filesystem(root);
        long start = System.nanoTime();

        List<TierDecision> decisions = new TierPlanner(store, System.out::println).plan(
                PlanRequest.builder("bge-small", parent).tiers(List.of(1.5, 2.0))
                        .methods(List.of(Method.ZIPLM, Method.TRIMLLM, Method.TRIMLLM_ZIPLM)).runtime(RuntimeSettings.cpu(1, 1, 128))
                        .testTexts(300).pooling(Pooling.CLS).normalize(true).build());

        System.out.printf(Locale.ROOT, "%nplanner: ZipLM, TrimLLM and TrimLLM+ZipLM for 1.5x and 2x in %.1f min%n",
                (System.nanoTime() - start) / 60e9);
        for (TierDecision decision : decisions) {
            System.out.printf(Locale.ROOT, "%s: %s -> %s%n", decision.tier() + "x", decision.reason(),
                    decision.variantId());
            for (Candidate c : decision.candidates()) {
                System.out.printf(Locale.ROOT, "  %-16s built for %.1fx  measured %.2fx  cosine %.4f  loss %.4f  %s%n",
                        c.method(), c.targetSpeedup(), c.measuredSpeedup(), c.meanCosine(), c.calibrationLoss(),
                        c.chosen() ? "chosen" : c.rejectedBecause());
            }
        }
    }
}
