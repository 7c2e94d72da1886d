package dev.tierserve.gateway.bench;

import static dev.tierserve.gateway.GatewayTestClient.BGE;
import static dev.tierserve.gateway.GatewayTestClient.bertRawRequest;
import static dev.tierserve.gateway.GatewayTestClient.string;

import dev.tierserve.gateway.GatewayTestClient;
import dev.tierserve.gateway.TestModels;
import dev.tierserve.gateway.compression.TierJobs;
import dev.tierserve.gateway.inference.InferenceExecutor;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.store.StoredVariant;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What a client sees per tier: BGE-small-en-v1.5 over loopback gRPC, batch 1 x seq 128, one intra-op thread, for
 * {@code exact} and the ZipLM tiers 1.5x and 2x built by the gateway's own local compressor (the first run
 * builds them into target/tier-bench-store, about 20 minutes; later runs reuse them). Latency at concurrency 1,
 * tiers interleaved request by request after warm-up, p50/p99; throughput at concurrency 1 and 8, tiers
 * interleaved block by block, median of rounds. Served speedup (exact p50 / tier p50) beside the manifest's.
 *
 * <p>Run: {@code mvn -B -DskipTests install && mvn -B -pl gateway/server -Pbenchmark test -Dtest=TierLatencyBenchmark}
 */
@QuarkusTest
@TestProfile(TierLatencyBenchmark.ZipLmTiers.class)
@QuarkusTestResource(TestModels.class)
@Tag("benchmark")
class TierLatencyBenchmark {

    static final List<String> TIERS = List.of("1.5x", "2x");
    static final int SEQUENCE = 128;

    public static class ZipLmTiers implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("gateway.compressor.mode", "local",
                    "gateway.compressor.methods", "ziplm",
                    "gateway.compressor.test-texts", "300",
                    "quarkus.test.hang-detection-timeout", "60m", // waiting for the first build is not a hang
                    "gateway.variants.store", Path.of("target/tier-bench-store").toAbsolutePath().toString());
        }
    }

    @Inject
    TierJobs jobs;

    @Inject
    VariantCatalog catalog;

    @Inject
    ModelRepository repository;

    @Inject
    OnnxRuntimeFactory runtime;

    @Inject
    InferenceExecutor executor;

    private final StringBuilder report = new StringBuilder();

    @Test
    void latencyAndThroughputPerTier() throws Exception {
        try (GatewayTestClient client = new GatewayTestClient().awaitReady()) {
            Map<String, StoredVariant> variants = awaitVariants();
            line("Tiers end to end, BGE-small-en-v1.5, loopback gRPC, batch 1 x seq %d, ONNX Runtime %s, intra-op "
                            + "threads %d, inference workers %d, %d cores", SEQUENCE, runtime.provider(),
                    runtime.intraOpThreads(), executor.workerCount(), Runtime.getRuntime().availableProcessors());
            List<String> tiers = new ArrayList<>(List.of("exact"));
            tiers.addAll(TIERS);
            Map<String, ModelInferRequest> requests = new LinkedHashMap<>();
            for (String tier : tiers) {
                requests.put(tier, bertRawRequest(BGE, 1, SEQUENCE, 11).putParameters("tier", string(tier)).build());
            }

            // Latency, concurrency 1: each round sends one request per tier, in rotating order.
            int warmup = 20;
            int samples = 300;
            Map<String, long[]> latencies = new LinkedHashMap<>();
            tiers.forEach(t -> latencies.put(t, new long[samples]));
            for (int i = -warmup; i < samples; i++) {
                for (int k = 0; k < tiers.size(); k++) {
                    String tier = tiers.get(Math.floorMod(i + k, tiers.size()));
                    long started = System.nanoTime();
                    String served = client.stub.modelInfer(requests.get(tier)).getParametersOrThrow("tier")
                            .getStringParam();
                    long nanos = System.nanoTime() - started;
                    if (!served.equals(tier)) {
                        throw new IllegalStateException("asked " + tier + ", served " + served);
                    }
                    if (i >= 0) {
                        latencies.get(tier)[i] = nanos;
                    }
                }
            }
            double exactP50 = percentile(latencies.get("exact"), 50);
            line("");
            line("%-6s %-28s %9s %9s %9s %14s %14s", "tier", "variant", "p50 ms", "p99 ms", "served", "manifest",
                    "served/manif.");
            for (String tier : tiers) {
                double p50 = percentile(latencies.get(tier), 50);
                StoredVariant variant = variants.get(tier);
                double manifest = variant == null ? 1.0 : variant.manifest().measuredSpeedup();
                line("%-6s %-28s %9.2f %9.2f %8.2fx %13.2fx %14.3f", tier, variant == null ? "parent" : variant.id(),
                        p50 / 1e6, percentile(latencies.get(tier), 99) / 1e6, exactP50 / p50, manifest,
                        exactP50 / p50 / manifest);
            }

            line("");
            line("Throughput (requests/s; median of 5 interleaved rounds of 96 requests per tier), relative to exact:");
            line("%-12s %-6s %10s %10s %8s", "concurrency", "tier", "req/s", "relative", "errors");
            for (int concurrency : new int[] {1, 8}) {
                Map<String, double[]> rates = new LinkedHashMap<>();
                int[] errors = new int[tiers.size()];
                tiers.forEach(t -> rates.put(t, new double[5]));
                for (int round = 0; round < 5; round++) {
                    for (int k = 0; k < tiers.size(); k++) {
                        String tier = tiers.get((round + k) % tiers.size());
                        int[] failed = new int[1];
                        rates.get(tier)[round] = throughput(client, requests.get(tier), concurrency, 96, failed);
                        errors[tiers.indexOf(tier)] += failed[0];
                    }
                }
                double exactRate = median(rates.get("exact"));
                for (String tier : tiers) {
                    double rate = median(rates.get(tier));
                    line("%-12d %-6s %10.1f %9.2fx %8d", concurrency, tier, rate, rate / exactRate,
                            errors[tiers.indexOf(tier)]);
                }
            }
        }
        Path out = Path.of("target/benchmarks/tier-latency.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report);
    }

    /** Starts one job for the missing tiers (the product's on-the-fly path) and waits until they are served. */
    private Map<String, StoredVariant> awaitVariants() throws InterruptedException {
        jobs.ensureAll(repository.require(BGE), TIERS);
        long started = System.nanoTime();
        Map<String, StoredVariant> found = new LinkedHashMap<>();
        while (found.size() < TIERS.size()) {
            for (String tier : TIERS) {
                catalog.refresh(BGE).forTier(tier).ifPresent(v -> found.put(tier, v));
            }
            if (found.size() < TIERS.size()) {
                Thread.sleep(5000);
                if (System.nanoTime() - started > 60L * 60 * 1_000_000_000L) {
                    throw new IllegalStateException("variants not built within an hour: "
                            + jobs.ensure(repository.require(BGE), TIERS.get(0)).join());
                }
            }
        }
        line("variants %s ready after %.0f s", found.keySet(), (System.nanoTime() - started) / 1e9);
        return found;
    }

    private static double throughput(GatewayTestClient client, ModelInferRequest request, int concurrency, int requests,
                                     int[] errors) throws Exception {
        AtomicInteger next = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        long started = System.nanoTime();
        List<Future<?>> workers = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            workers.add(pool.submit(() -> {
                while (next.getAndIncrement() < requests) {
                    try {
                        client.stub.modelInfer(request);
                    } catch (RuntimeException e) {
                        failed.incrementAndGet();
                    }
                }
            }));
        }
        for (Future<?> worker : workers) {
            worker.get();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        pool.shutdown();
        errors[0] = failed.get();
        return requests / seconds;
    }

    private static double percentile(long[] values, int percentile) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private void line(String format, Object... arguments) {
        String text = String.format(Locale.ROOT, format, arguments);
        System.out.println(text);
        report.append(text).append('\n');
    }
}
