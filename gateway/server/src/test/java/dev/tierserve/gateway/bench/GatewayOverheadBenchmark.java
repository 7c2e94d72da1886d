package dev.tierserve.gateway.bench;

import static dev.tierserve.gateway.GatewayTestClient.BGE;
import static dev.tierserve.gateway.GatewayTestClient.bertRawRequest;
import static dev.tierserve.gateway.GatewayTestClient.filled;
import static dev.tierserve.gateway.GatewayTestClient.tokenIds;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.tierserve.gateway.GatewayTestClient;
import dev.tierserve.gateway.TestModels;
import dev.tierserve.gateway.inference.InferenceExecutor;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.runtime.SessionCache;
import dev.tierserve.gateway.runtime.SessionLease;
import dev.tierserve.proto.inference.ModelInferRequest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
 * Gateway overhead: ModelInfer over loopback gRPC against the same ONNX Runtime session called in-process, same
 * inputs, interleaved in one run after warm-up, medians; then throughput at several concurrencies. Prints figures
 * (and writes them to target/benchmarks/gateway-overhead.txt); asserts nothing about time.
 *
 * <p>Run: {@code mvn -pl gateway/server -Pbenchmark test}
 */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
@Tag("benchmark")
class GatewayOverheadBenchmark {

    static final int SEQUENCE = 128;

    @Inject
    SessionCache sessions;

    @Inject
    OnnxRuntimeFactory runtime;

    @Inject
    InferenceExecutor executor;

    private final StringBuilder report = new StringBuilder();

    @Test
    void gatewayOverheadAndThroughput() throws Exception {
        try (GatewayTestClient client = new GatewayTestClient().awaitReady()) {
            line("Gateway overhead, BGE-small-en-v1.5 (real weights), ONNX Runtime %s %s, intra-op threads %d, "
                            + "inference workers %d, %d cores, Java %s",
                    runtime.environment().getVersion(), runtime.provider(), runtime.intraOpThreads(),
                    executor.workerCount(), Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
            jitWarmUp(client, 5000, 4);
            line("");
            line("%-12s %8s %12s %12s %12s %12s %10s", "shape", "samples", "grpc p50 ms", "ort p50 ms", "grpc p90 ms",
                    "ort p90 ms", "p50 ratio");
            overhead(client, 1, 40, 200);
            fixedRpcCost(client);
            overhead(client, 8, 10, 40);
            line("");
            line("Throughput, batch 1 x seq %d, raw tensors over loopback gRPC:", SEQUENCE);
            line("%-12s %8s %10s %12s %12s %8s", "concurrency", "requests", "req/s", "p50 ms", "p99 ms", "errors");
            for (int concurrency : new int[] {1, 4, 16}) {
                throughput(client, concurrency, 160);
            }
        }
        Path out = Path.of("target/benchmarks/gateway-overhead.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report);
    }

    private void overhead(GatewayTestClient client, int batch, int warmup, int samples) throws Exception {
        ModelInferRequest request = bertRawRequest(BGE, batch, SEQUENCE, 42).build();
        dev.tierserve.proto.inference.InferStatistics before = statistics(client);
        long[] grpc = new long[samples];
        long[] direct = new long[samples];
        long[] inGateway = new long[samples];
        long[] gatewayInfer = new long[samples];
        try (SessionLease lease = sessions.acquire(BGE, null)) {
            OrtSession session = lease.loaded().session();
            for (int i = -warmup; i < samples; i++) {
                dev.tierserve.proto.inference.InferStatistics previous = statistics(client);
                long started = System.nanoTime();
                client.stub.modelInfer(request);
                long grpcNanos = System.nanoTime() - started;
                dev.tierserve.proto.inference.InferStatistics current = statistics(client);
                long directNanos = inProcess(session, batch, SEQUENCE, 42);
                if (i >= 0) {
                    grpc[i] = grpcNanos;
                    direct[i] = directNanos;
                    inGateway[i] = current.getSuccess().getNs() - previous.getSuccess().getNs();
                    gatewayInfer[i] = current.getComputeInfer().getNs() - previous.getComputeInfer().getNs();
                }
            }
        }
        line("%-12s %8d %12.2f %12.2f %12.2f %12.2f %10.3f", batch + " x " + SEQUENCE, samples,
                ms(percentile(grpc, 50)), ms(percentile(direct, 50)), ms(percentile(grpc, 90)), ms(percentile(direct, 90)),
                (double) percentile(grpc, 50) / percentile(direct, 50));
        long[] outside = new long[samples];
        for (int i = 0; i < samples; i++) {
            outside[i] = grpc[i] - inGateway[i];
        }
        line("%-12s per request, p50: in gateway %.2f ms (of which ONNX Runtime %.2f ms), outside the gateway "
                        + "(transport, client) %.2f ms", "", ms(percentile(inGateway, 50)),
                ms(percentile(gatewayInfer, 50)), ms(percentile(outside, 50)));
        dev.tierserve.proto.inference.InferStatistics after = statistics(client);
        long count = after.getSuccess().getCount() - before.getSuccess().getCount();
        line("%-12s gateway's own means per request: queue %.2f ms, input %.2f ms, infer %.2f ms, output %.2f ms, "
                        + "total in gateway %.2f ms", "", mean(before.getQueue(), after.getQueue(), count),
                mean(before.getComputeInput(), after.getComputeInput(), count),
                mean(before.getComputeInfer(), after.getComputeInfer(), count),
                mean(before.getComputeOutput(), after.getComputeOutput(), count),
                mean(before.getSuccess(), after.getSuccess(), count));
    }

    /**
     * Runs both paths {@code requests} times on a short sequence before anything is measured, so that the JIT has
     * compiled the gRPC, protobuf and gateway code a long-running server runs compiled. Without it the request path
     * is still partly interpreted after a few dozen requests and costs several milliseconds more per request
     * (measured: 4.6 ms outside the gateway at batch 1 after 40 warm-up requests), which is start-up cost, not
     * per-request overhead.
     */
    private void jitWarmUp(GatewayTestClient client, int requests, int sequence) throws Exception {
        ModelInferRequest request = bertRawRequest(BGE, 1, sequence, 3).build();
        long started = System.nanoTime();
        try (SessionLease lease = sessions.acquire(BGE, null)) {
            OrtSession session = lease.loaded().session();
            for (int i = 0; i < requests; i++) {
                client.stub.modelInfer(request);
                inProcess(session, 1, sequence, 3);
            }
        }
        line("JIT warm-up: %d requests of 1 x %d on each path, %.1f s", requests, sequence,
                (System.nanoTime() - started) / 1e9);
    }

    /** One in-process run of the session on the benchmark's inputs: the nanoseconds it took, output read. */
    private long inProcess(OrtSession session, int batch, int sequence, long seed) throws Exception {
        long[] ids = tokenIds(batch, sequence, seed);
        long[] ones = filled(batch * sequence, 1);
        long[] zeros = filled(batch * sequence, 0);
        long[] shape = {batch, sequence};
        OrtEnvironment environment = runtime.environment();
        long started = System.nanoTime();
        try (OnnxTensor inputIds = OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape);
             OnnxTensor mask = OnnxTensor.createTensor(environment, LongBuffer.wrap(ones), shape);
             OnnxTensor types = OnnxTensor.createTensor(environment, LongBuffer.wrap(zeros), shape);
             OrtSession.Result result = session.run(Map.of("input_ids", inputIds, "attention_mask", mask,
                     "token_type_ids", types))) {
            FloatBuffer hidden = ((OnnxTensor) result.get(0)).getFloatBuffer();
            if (hidden.remaining() != batch * sequence * 384) {
                throw new IllegalStateException("unexpected output size " + hidden.remaining());
            }
        }
        return System.nanoTime() - started;
    }

    /** The cost of a round trip that does no work: what the transport adds to every request on this machine. */
    private void fixedRpcCost(GatewayTestClient client) {
        long[] live = new long[300];
        for (int i = -50; i < live.length; i++) {
            long started = System.nanoTime();
            client.stub.serverLive(dev.tierserve.proto.inference.ServerLiveRequest.getDefaultInstance());
            if (i >= 0) {
                live[i] = System.nanoTime() - started;
            }
        }
        line("%-12s ServerLive round trip (no work): p50 %.3f ms, p90 %.3f ms", "", ms(percentile(live, 50)),
                ms(percentile(live, 90)));
    }

    private void throughput(GatewayTestClient client, int concurrency, int requests) throws Exception {
        ModelInferRequest request = bertRawRequest(BGE, 1, SEQUENCE, 7).build();
        for (int i = 0; i < 4; i++) {
            client.stub.modelInfer(request);
        }
        AtomicInteger next = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        long[] latencies = new long[requests];
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        long started = System.nanoTime();
        List<Future<?>> workers = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            workers.add(pool.submit(() -> {
                int index;
                while ((index = next.getAndIncrement()) < requests) {
                    long sent = System.nanoTime();
                    try {
                        client.stub.modelInfer(request);
                    } catch (RuntimeException e) {
                        errors.incrementAndGet();
                    }
                    latencies[index] = System.nanoTime() - sent;
                }
            }));
        }
        for (Future<?> worker : workers) {
            worker.get();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        pool.shutdown();
        line("%-12d %8d %10.1f %12.2f %12.2f %8d", concurrency, requests, requests / seconds,
                ms(percentile(latencies, 50)), ms(percentile(latencies, 99)), errors.get());
    }

    private static dev.tierserve.proto.inference.InferStatistics statistics(GatewayTestClient client) {
        return client.stub.modelStatistics(dev.tierserve.proto.inference.ModelStatisticsRequest.newBuilder()
                .setName(BGE).build()).getModelStats(0).getInferenceStats();
    }

    private static double mean(dev.tierserve.proto.inference.StatisticDuration before,
                               dev.tierserve.proto.inference.StatisticDuration after, long count) {
        return (after.getNs() - before.getNs()) / 1e6 / Math.max(count, 1);
    }

    private static long percentile(long[] values, int percentile) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private void line(String format, Object... arguments) {
        String text = String.format(Locale.ROOT, format, arguments);
        System.out.println(text);
        report.append(text).append('\n');
    }
}
