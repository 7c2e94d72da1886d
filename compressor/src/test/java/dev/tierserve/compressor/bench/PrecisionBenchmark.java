package dev.tierserve.compressor.bench;

import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.plan.Candidate;
import dev.tierserve.compressor.plan.Method;
import dev.tierserve.compressor.plan.PlanRequest;
import dev.tierserve.compressor.plan.Precision;
import dev.tierserve.compressor.plan.TierDecision;
import dev.tierserve.compressor.plan.TierPlanner;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.TierNames;
import dev.tierserve.store.VariantStore;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The planner on BGE-small with ZipLM at both precisions, tiers 1.5x to 4x (CPU, 1 thread, batch 1 x seq 128, 300
 * held-out texts, CLS pooling, normalised): per tier the float32 ZipLM candidate (what the planner published before
 * int8 existed) beside the chosen one, from the same run on the same texts, against the goals. Run: {@code mvn -B
 * -DskipTests install && mvn -B -pl compressor -Pbenchmark test -Dtest=PrecisionBenchmark}; the store is left in
 * {@code compressor/target/benchmarks/precision-store} for {@code DownstreamBenchmark}.
 */
@Tag("benchmark")
class PrecisionBenchmark {

    static final Path STORE = Path.of("target", "benchmarks", "precision-store");
    private static final Map<Double, Double> GOALS = Map.of(2.0, 0.97, 3.0, 0.95, 4.0, 0.90);

    @Test
    void bgeSmallTiersAtBothPrecisions() throws Exception {
        Path parent = TestModels.modelDirectory(STORE.resolveSibling("precision-parent"), TestModels.BGE_SMALL,
                TestModels.BGE_TOKENIZER);
        VariantStore store = VariantStore.filesystem(STORE);
        long start = System.nanoTime();
        List<TierDecision> decisions = new TierPlanner(store, System.out::println).plan(
                PlanRequest.builder("bge-small", parent).tiers(List.of(1.5, 2.0, 3.0, 4.0)).methods(List.of(Method.ZIPLM)).precisions(List.of(Precision.values()))
                        .runtime(RuntimeSettings.cpu(1, 1, 128)).testTexts(300).pooling(Pooling.CLS).normalize(true)
                        .build());
        double minutes = (System.nanoTime() - start) / 60e9;

        System.out.printf(Locale.ROOT, "%nplanner: ZipLM at float32 and int8 for 1.5x, 2x, 3x, 4x in %.1f min "
                + "(goal: under 15), %d cores%n", minutes, Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "%-5s %-28s %-28s %s%n", "tier", "float32 ZipLM (before)", "chosen (now)",
                "goal");
        for (TierDecision decision : decisions) {
            Candidate before = decision.candidates().stream()
                    .filter(c -> c.method().equals("ziplm") && c.targetSpeedup() == decision.tier()).findFirst()
                    .orElse(null);
            Candidate chosen = decision.candidates().stream().filter(Candidate::chosen).findFirst().orElse(null);
            Double goal = GOALS.get(decision.tier());
            System.out.printf(Locale.ROOT, "%-5s %-28s %-28s %s%n", TierNames.format(decision.tier()), brief(before),
                    brief(chosen), goal == null ? "-" : String.format(Locale.ROOT, "cos >= %.2f: %s", goal,
                            chosen != null && chosen.meanCosine() >= goal ? "met" : "MISSED"));
        }
        for (TierDecision decision : decisions) {
            System.out.printf(Locale.ROOT, "%n%s: %s -> %s%n", TierNames.format(decision.tier()), decision.reason(),
                    decision.variantId());
            for (Candidate c : decision.candidates()) {
                System.out.printf(Locale.ROOT, "  %-16s built for %-5s measured %.2fx  cosine %.4f  loss %.4f  %s%n",
                        c.method(), TierNames.format(c.targetSpeedup()), c.measuredSpeedup(), c.meanCosine(),
                        c.calibrationLoss(), c.chosen() ? "chosen" : c.rejectedBecause());
            }
        }
    }

    private static String brief(Candidate c) {
        return c == null ? "none" : String.format(Locale.ROOT, "%s %.2fx cos %.4f", c.method(), c.measuredSpeedup(),
                c.meanCosine());
    }
}
