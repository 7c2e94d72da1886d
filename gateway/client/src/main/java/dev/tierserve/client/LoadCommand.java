package dev.tierserve.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code load}: drives a model with text requests, open loop at a target rate (Poisson arrivals: requests are sent
 * when due whether or not earlier ones were answered) or closed loop at a concurrency, and reports throughput, latency
 * percentiles, answers by status and served tier (a progress line each second, the summary as JSON).
 */
@Command(name = "load", description = "Sends text requests at a rate (open loop, Poisson) or a concurrency (closed "
        + "loop) and reports throughput, latency percentiles, statuses and served tiers.")
final class LoadCommand implements Callable<Integer> {

    @CommandLine.ParentCommand
    InferenceClient parent;

    @Option(names = "--model", required = true, description = "a text model") String model;
    @Option(names = "--text", description = "a sentence to send (repeatable; rotated)") List<String> texts = new ArrayList<>();
    @Option(names = "--texts-file", description = "one sentence per line") Path textsFile;
    @Option(names = "--tier", description = "exact, auto or a speedup such as 2x") String tier;
    @Option(names = "--deadline-ms", description = "each request's gRPC deadline") Long deadlineMillis;
    @Option(names = "--rate", description = "open loop: requests per second (Poisson arrivals)") Double rate;
    @Option(names = "--concurrency", description = "closed loop: requests in flight") Integer concurrency;
    @Option(names = "--duration", defaultValue = "30", description = "seconds (default ${DEFAULT-VALUE})") int seconds;
    @Option(names = "--warmup", defaultValue = "5", description = "seconds not counted (default ${DEFAULT-VALUE})") int warmup;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--json", description = "write the summary here") Path json;

    @Override
    public Integer call() throws Exception {
        if ((rate == null) == (concurrency == null)) {
            throw new IllegalArgumentException("give exactly one of --rate (open loop) or --concurrency (closed loop)");
        }
        if (textsFile != null) {
            texts.addAll(Files.readAllLines(textsFile).stream().filter(l -> !l.isBlank()).toList());
        }
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("give --text or --texts-file");
        }
        ManagedChannel channel = parent.channel().build();
        try {
            if (warmup > 0) {
                run(channel, warmup, new LoadReport(), false);
            }
            LoadReport report = new LoadReport();
            long started = System.nanoTime();
            int threads = run(channel, seconds, report, true);
            double elapsed = (System.nanoTime() - started) / 1e9;
            Map<String, Object> summary = report.summary(rate != null ? "open-loop " + rate + "/s"
                    : "closed-loop x" + concurrency, elapsed, threads);
            summary.put("model", model);
            summary.put("tier", tier == null ? "" : tier);
            summary.put("deadline_ms", deadlineMillis == null ? 0 : deadlineMillis);
            String text = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(summary);
            System.out.println(text);
            if (json != null) {
                Files.writeString(json, text + "\n");
            }
            return 0;
        } finally {
            channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /** Runs for {@code duration} seconds; returns the client threads used. */
    private int run(ManagedChannel channel, int duration, LoadReport report, boolean progress) throws Exception {
        GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub stub = GRPCInferenceServiceGrpc.newFutureStub(channel);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(duration);
        AtomicLong outstanding = new AtomicLong();
        Thread ticker = progress ? progressLine(report, end) : null;
        int threads;
        if (rate != null) {
            threads = 1;
            Random arrivals = new Random(seed);
            long due = System.nanoTime();
            long sent = 0;
            while (due < end) {
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                send(stub, sent++, due, report, outstanding, null);
                due += (long) (-Math.log(1 - arrivals.nextDouble()) / rate * 1e9); // exponential gaps
            }
        } else {
            threads = concurrency;
            CountDownLatch done = new CountDownLatch(concurrency);
            for (int c = 0; c < concurrency; c++) {
                long first = c;
                // Each slot sends its next request when its last one is answered.
                Runnable[] next = new Runnable[1];
                AtomicLong count = new AtomicLong(first);
                next[0] = () -> {
                    if (System.nanoTime() >= end) {
                        done.countDown();
                        return;
                    }
                    send(stub, count.getAndAdd(concurrency), System.nanoTime(), report, outstanding, next[0]);
                };
                next[0].run();
            }
            done.await();
        }
        while (outstanding.get() > 0) {
            Thread.sleep(10);
        }
        if (ticker != null) {
            ticker.interrupt();
            ticker.join();
        }
        return threads;
    }

    private void send(GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub stub, long index, long dueNanos,
                      LoadReport report, AtomicLong outstanding, Runnable then) {
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(model);
        TensorArguments.addText(request, List.of(texts.get((int) (index % texts.size()))), false);
        if (tier != null) {
            request.putParameters("tier", InferParameter.newBuilder().setStringParam(tier).build());
        }
        var call = deadlineMillis == null ? stub : stub.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS);
        outstanding.incrementAndGet();
        Futures.addCallback(call.modelInfer(request.build()), new FutureCallback<>() {
            @Override
            public void onSuccess(ModelInferResponse response) {
                long micros = (System.nanoTime() - dueNanos) / 1000;
                report.ok(micros, response.getParametersOrDefault("tier", InferParameter.getDefaultInstance())
                                .getStringParam(),
                        response.getParametersOrDefault("sla_miss_predicted", InferParameter.getDefaultInstance())
                                .getBoolParam(),
                        deadlineMillis == null || micros <= deadlineMillis * 1000);
                finish();
            }

            @Override
            public void onFailure(Throwable error) {
                report.failed(Status.fromThrowable(error).getCode().name());
                finish();
            }

            private void finish() {
                outstanding.decrementAndGet();
                if (then != null) {
                    then.run();
                }
            }
        }, MoreExecutors.directExecutor());
    }

    private static Thread progressLine(LoadReport report, long end) {
        Thread ticker = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    TimeUnit.SECONDS.sleep(1);
                    Histogram second = report.interval();
                    System.err.printf(Locale.ROOT, "%4d s left: %5d ok/s  p50 %7.2f ms  p99 %7.2f ms  answered %d%n",
                            Math.max(0, (end - System.nanoTime()) / 1_000_000_000L), second.getTotalCount(),
                            second.getValueAtPercentile(50) / 1000.0, second.getValueAtPercentile(99) / 1000.0,
                            report.answered());
                }
            } catch (InterruptedException e) {
                // the run is over
            }
        }, "load-progress");
        ticker.setDaemon(true);
        ticker.start();
        return ticker;
    }
}
