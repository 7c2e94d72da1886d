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

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The planner on BGE-small with ZipLM at both precisions, tiers 1.5x to 4x (CPU, 1 thread, batch 1 x seq 128, 300
 * held-out texts, CLS pooling, normalised), timed; then, in the same run on the same texts, the planner at float32
 * only (what it published before int8 existed); per tier both choices side by side against the goals. Run: {@code mvn -B
 * -DskipTests install && mvn -B -pl compressor -Pbenchmark test -Dtest=PrecisionBenchmark}; the stores are left in
 * {@code compressor/target/benchmarks/precision-store} and {@code precision-store-float32}
 * for {@code DownstreamBenchmark}.
 */
@Tag("benchmark")
class PrecisionBenchmark {

    static final Path STORE = Path.of("target", "benchmarks", "precision-store");
    static final Path FLOAT32_STORE = STORE.resolveSibling("precision-store-float32");
    private static final Map<Double, Double> GOALS = Map.of(2.0, 0.97, 3.0, 0.95, 4.0, 0.90);

    @Test
    void bgeSmallTiersAtBothPrecisions() throws Exception {
        Path parent = TestModels.modelDirectory(STORE.resolveSibling("precision-parent"), TestModels.BGE_SMALL,
                TestModels.BGE_TOKENIZER);
        List<Double> tiers = List.of(1.5, 2.0, 3.0, 4.0);
        // Empty stores: a tier already in one would take this run's variant as a canary beside the old stable one,
        // and DownstreamBenchmark reads the stable ones.
        deleteRecursively(STORE);
        deleteRecursively(FLOAT32_STORE);
        long start = System.nanoTime();
        List<TierDecision> now = new TierPlanner(VariantStore.filesystem(STORE), System.out::println)
                .plan(request(parent, tiers, List.of(Precision.values())));
        double minutes = (System.nanoTime() - start) / 60e9;
        // What the planner published before int8 existed, on the same texts: float32 ZipLM at every tier.
        List<TierDecision> before = new TierPlanner(VariantStore.filesystem(FLOAT32_STORE), System.out::println)
                .plan(request(parent, tiers, List.of(Precision.FLOAT32)));

        System.out.printf(Locale.ROOT, "%nplanner: ZipLM at float32 and int8 for 1.5x, 2x, 3x, 4x in %.1f min "
                + "(goal: under 15), %d cores%n", minutes, Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "%-5s %-30s %-30s %s%n", "tier", "float32 ZipLM (before)", "chosen (now)",
                "goal");
        for (int i = 0; i < tiers.size(); i++) {
            Double goal = GOALS.get(tiers.get(i));
            Candidate chosen = chosen(now.get(i));
            System.out.printf(Locale.ROOT, "%-5s %-30s %-30s %s%n", TierNames.format(tiers.get(i)),
                    brief(chosen(before.get(i))), brief(chosen), goal == null ? "-" : String.format(Locale.ROOT,
                            "cos >= %.2f: %s", goal, chosen != null && chosen.meanCosine() >= goal ? "met" : "MISSED"));
        }
        for (List<TierDecision> run : List.of(now, before)) {
            for (TierDecision decision : run) {
                System.out.printf(Locale.ROOT, "%n%s: %s -> %s%n", TierNames.format(decision.tier()),
                        decision.reason(), decision.variantId());
                for (Candidate c : decision.candidates()) {
                    System.out.printf(Locale.ROOT, "  %-16s built for %-5s measured %.2fx  cosine %.4f  loss %.4f  "
                                    + "%s%n", c.method(), TierNames.format(c.targetSpeedup()), c.measuredSpeedup(),
                            c.meanCosine(), c.calibrationLoss(), c.chosen() ? "chosen" : c.rejectedBecause());
                }
            }
        }
    }

    private static PlanRequest request(Path parent, List<Double> tiers, List<Precision> precisions) {
        return PlanRequest.builder("bge-small", parent).tiers(tiers).methods(List.of(Method.ZIPLM))
                .precisions(precisions).runtime(RuntimeSettings.cpu(1, 1, 128)).testTexts(300)
                .pooling(Pooling.CLS).normalize(true).build();
    }

    private static Candidate chosen(TierDecision decision) {
        return decision.candidates().stream().filter(Candidate::chosen).findFirst().orElse(null);
    }

    private static String brief(Candidate c) {
        return c == null ? "none" : String.format(Locale.ROOT, "%s %.2fx cos %.4f", c.method(), c.measuredSpeedup(),
                c.meanCosine());
    }

    static void deleteRecursively(Path directory) throws IOException {
        if (Files.exists(directory)) {
            try (Stream<Path> paths = Files.walk(directory)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(path);
                }
            }
        }
    }
}
