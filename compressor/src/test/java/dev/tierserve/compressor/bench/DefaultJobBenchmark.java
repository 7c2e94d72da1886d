package dev.tierserve.compressor.bench;

import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.plan.Candidate;
import dev.tierserve.compressor.plan.Method;
import dev.tierserve.compressor.plan.PlanRequest;
import dev.tierserve.compressor.plan.TierDecision;
import dev.tierserve.compressor.plan.TierPlanner;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.TierNames;
import dev.tierserve.store.VariantStore;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The job a gateway starts for BGE-small's 2x tier, as it ships (no method or precision named: ZipLM, int8 where it
 * measures faster), beside the same job with every method ({@code --method all}), one after the other in one run on
 * the same 300 held-out texts (CPU, 1 thread, batch 1 x seq 128, CLS pooling, normalised): for each, the time until the
 * tier was first published, the whole job's time, and the published variant's speedup and quality. Run: {@code mvn -B
 * -DskipTests install && mvn -B -pl compressor -Pbenchmark test -Dtest=DefaultJobBenchmark} (about 35 minutes on 2
 * cores).
 */
@Tag("benchmark")
class DefaultJobBenchmark {

    private static final Path DIR = Path.of("target", "benchmarks", "default-job");
    private static final double TIER = 2.0;

    /** What one job did: when the tier was first published, when the job ended, and what it published. */
    private record Run(String name, double firstPublishSeconds, double seconds, TierDecision decision) {
    }

    @Test
    void bgeSmallTwoXByDefaultAndWithEveryMethod() throws Exception {
        Path parent = TestModels.modelDirectory(DIR.resolve("parent"), TestModels.BGE_SMALL, TestModels.BGE_TOKENIZER);
        List<Run> runs = new ArrayList<>();
        runs.add(run("default (ziplm, float32+int8)", parent, DIR.resolve("store-default"),
                PlanRequest.builder("bge-small", parent)));
        runs.add(run("--method all", parent, DIR.resolve("store-all"),
                PlanRequest.builder("bge-small", parent).methods(Method.all())));

        System.out.printf(Locale.ROOT, "%nBGE-small %s, %d cores, 1 intra-op thread:%n", TierNames.format(TIER),
                Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "%-32s %-14s %-10s %-34s%n", "job", "first publish", "whole job",
                "published");
        for (Run run : runs) {
            Candidate chosen = run.decision().candidates().stream().filter(Candidate::chosen).findFirst().orElse(null);
            System.out.printf(Locale.ROOT, "%-32s %-14s %-10s %-34s%n", run.name(),
                    String.format(Locale.ROOT, "%.1f min", run.firstPublishSeconds() / 60),
                    String.format(Locale.ROOT, "%.1f min", run.seconds() / 60),
                    chosen == null ? "none" : String.format(Locale.ROOT, "%s %.2fx, cos %.4f", chosen.method(),
                            chosen.measuredSpeedup(), chosen.meanCosine()));
        }
        for (Run run : runs) {
            System.out.printf(Locale.ROOT, "%n%s: %s%n", run.name(), run.decision().reason());
            for (Candidate c : run.decision().candidates()) {
                System.out.printf(Locale.ROOT, "  %-16s built for %-5s measured %.2fx  cosine %.4f  %s%n", c.method(),
                        TierNames.format(c.targetSpeedup()), c.measuredSpeedup(), c.meanCosine(),
                        c.chosen() ? "chosen" : c.rejectedBecause());
            }
        }
    }

    private static Run run(String name, Path parent, Path store, PlanRequest.Builder request) throws IOException {
        PrecisionBenchmark.deleteRecursively(store); // a tier already there would take this run's variant as a canary
        long start = System.nanoTime();
        long[] firstPublish = {-1};
        TierDecision decision = new TierPlanner(VariantStore.filesystem(store), line -> {
            System.out.println(line);
            if (firstPublish[0] < 0 && line.startsWith("published ")) {
                firstPublish[0] = System.nanoTime();
            }
        }).plan(request.tiers(List.of(TIER)).runtime(RuntimeSettings.cpu(1, 1, 128)).testTexts(300)
                .pooling(Pooling.CLS).normalize(true).build()).get(0);
        long end = System.nanoTime();
        return new Run(name, ((firstPublish[0] < 0 ? end : firstPublish[0]) - start) / 1e9, (end - start) / 1e9,
                decision);
    }
}
