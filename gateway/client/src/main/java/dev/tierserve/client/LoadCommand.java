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
import java.util.Collections;
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
import picocli.CommandLine.Help.Visibility;
import picocli.CommandLine.Option;

/**
 * {@code load}: drives models with text requests, and BERT-family encoders with token tensors, open loop at a target
 * rate (Poisson arrivals: requests are sent when due whether or not earlier ones were answered) or closed loop at a
 * concurrency, and reports throughput, latency percentiles, answers by status and served tier (a progress line each
 * second, the summary as JSON). Several models and tiers are mixed in turn: request i goes to the i-th model of the
 * list (text models, then tensor models), at the tier after the one its model had last.
 */
@Command(name = "load", description = "Sends text and tensor requests at a rate (open loop, Poisson) or a "
        + "concurrency (closed loop), mixing models and tiers, and reports throughput, latency percentiles, statuses "
        + "and served tiers.",
        footer = {"  java -jar gateway/client/target/tierserve-client.jar load \\",
                "      --model bge-small-en-v1.5-text --text \"The quick brown fox\" \\",
                "      --tensor-model bge-small-en-v1.5 --tier exact --tier auto \\",
                "      --concurrency 2 --duration 10 --json load.json"})
final class LoadCommand implements Callable<Integer> {

    @CommandLine.ParentCommand
    InferenceClient parent;

    @Option(names = "--model", description = "a text model (repeatable)", showDefaultValue = Visibility.NEVER)
    List<String> models = new ArrayList<>();
    @Option(names = "--tensor-model", description = "a BERT-family encoder sent token ids, attention mask and token "
            + "types, 1 x 16 (repeatable)", showDefaultValue = Visibility.NEVER) List<String> tensorModels = new ArrayList<>();
    @Option(names = "--text", description = "a sentence to send (repeatable; rotated)",
            showDefaultValue = Visibility.NEVER) List<String> texts = new ArrayList<>();
    @Option(names = "--texts-file", description = "one sentence per line") Path textsFile;
    @Option(names = "--tier", description = "exact, auto or a speedup such as 2x (repeatable)",
            showDefaultValue = Visibility.NEVER) List<String> tiers = new ArrayList<>();
    @Option(names = "--deadline-ms", description = "each request's gRPC deadline") Long deadlineMillis;
    @Option(names = "--rate", description = "open loop: requests per second (Poisson arrivals)") Double rate;
    @Option(names = "--concurrency", description = "closed loop: requests in flight") Integer concurrency;
    @Option(names = "--duration", defaultValue = "30", description = "seconds") int seconds;
    @Option(names = "--warmup", defaultValue = "5", description = "seconds not counted") int warmup;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--json", description = "write the summary here") Path json;

    @Override
    public Integer call() throws Exception {
        if ((rate == null) == (concurrency == null)) {
            throw new IllegalArgumentException("give exactly one of --rate (open loop) or --concurrency (closed loop)");
        }
        if (models.isEmpty() && tensorModels.isEmpty()) {
            throw new IllegalArgumentException("give --model (text) or --tensor-model");
        }
        if (textsFile != null) {
            texts.addAll(Files.readAllLines(textsFile).stream().filter(l -> !l.isBlank()).toList());
        }
        if (texts.isEmpty() && !models.isEmpty()) {
            throw new IllegalArgumentException("give --text or --texts-file for the text models");
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
            List<String> all = new ArrayList<>(models);
            all.addAll(tensorModels);
            summary.put("model", String.join(",", all));
            summary.put("tier", String.join(",", tiers));
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
        int kinds = models.size() + tensorModels.size();
        int pick = (int) (index % kinds);
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder();
        if (pick < models.size()) {
            request.setModelName(models.get(pick));
            TensorArguments.addText(request, List.of(texts.get((int) (index / kinds % texts.size()))), false);
        } else {
            request.setModelName(tensorModels.get(pick - models.size()));
            addTokens(request, index);
        }
        if (!tiers.isEmpty()) {
            request.putParameters("tier", InferParameter.newBuilder()
                    .setStringParam(tiers.get((int) (index / kinds % tiers.size()))).build());
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

    /** [CLS], 14 word pieces drawn from {@code index}, [SEP]: BERT's uncased vocabulary, as BGE and MiniLM use. */
    private static void addTokens(ModelInferRequest.Builder request, long index) {
        Random pieces = new Random(index);
        StringBuilder ids = new StringBuilder("101");
        for (int i = 0; i < 14; i++) {
            ids.append(',').append(1000 + pieces.nextInt(28_000));
        }
        ids.append(",102");
        String ones = String.join(",", Collections.nCopies(16, "1"));
        String zeros = String.join(",", Collections.nCopies(16, "0"));
        TensorArguments.addTensor(request, "input_ids:INT64:1x16:" + ids, false);
        TensorArguments.addTensor(request, "attention_mask:INT64:1x16:" + ones, false);
        TensorArguments.addTensor(request, "token_type_ids:INT64:1x16:" + zeros, false);
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
