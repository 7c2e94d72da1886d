package dev.tierserve.gateway.bench;

import static dev.tierserve.gateway.GatewayTestClient.filled;
import static dev.tierserve.gateway.GatewayTestClient.tokenIds;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.tierserve.gateway.NativeHeap;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime's CPU arena, which the gateway turns off: two sessions of BGE-small with the gateway's other options,
 * one with the arena and one without, run in turn on the same inputs after warm-up; medians and their ratio per
 * shape, then what each keeps in the native heap after one batch of 16 x 512 tokens. Prints figures (and writes them
 * to target/benchmarks/session-arena.txt); asserts nothing about time.
 *
 * <p>Run: {@code mvn -B -pl gateway/server -Pbenchmark test -Dtest=SessionArenaBenchmark}
 */
@Tag("benchmark")
class SessionArenaBenchmark {

    private final StringBuilder report = new StringBuilder();

    @Test
    void arenaOnAgainstOff() throws Exception {
        byte[] model;
        try (InputStream in = SessionArenaBenchmark.class.getResourceAsStream("/bge-small-en-v1.5.onnx")) {
            model = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession on = open(env, model, true); OrtSession off = open(env, model, false)) {
            line("BGE-small-en-v1.5, ONNX Runtime %s CPU, 1 intra-op thread, %d cores, Java %s; arena on and off "
                    + "in turn", env.getVersion(), Runtime.getRuntime().availableProcessors(),
                    System.getProperty("java.version"));
            int[][] shapes = {{1, 16, 200}, {1, 128, 100}, {8, 128, 40}, {32, 128, 20}}; // batch, tokens, samples
            for (int[] shape : shapes) {
                long[] a = new long[shape[2]];
                long[] b = new long[shape[2]];
                for (int i = -5; i < shape[2]; i++) {
                    long x = run(env, on, shape[0], shape[1]);
                    long y = run(env, off, shape[0], shape[1]);
                    if (i >= 0) {
                        a[i] = x;
                        b[i] = y;
                    }
                }
                line("%d x %d, %d samples each: arena on p50 %.2f ms, off p50 %.2f ms, off/on %.3f", shape[0], shape[1],
                        shape[2], median(a) / 1e6, median(b) / 1e6, median(b) / (double) median(a));
            }
            for (OrtSession session : new OrtSession[] {on, off}) {
                long before = NativeHeap.liveBytes();
                run(env, session, 16, 512);
                line("%s: the native heap keeps %d MiB more after one run of 16 x 512 tokens",
                        session == on ? "arena on" : "arena off", (NativeHeap.liveBytes() - before) >> 20);
            }
        }
        Path out = Path.of("target/benchmarks/session-arena.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report);
    }

    private void line(String format, Object... args) {
        String text = String.format(Locale.ROOT, format, args);
        System.out.println(text);
        report.append(text).append('\n');
    }

    private static OrtSession open(OrtEnvironment env, byte[] model, boolean arena) throws Exception {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            options.setCPUArenaAllocator(arena);
            return env.createSession(model, options);
        }
    }

    private static long run(OrtEnvironment env, OrtSession session, int batch, int sequence) throws Exception {
        long[] shape = {batch, sequence};
        long started = System.nanoTime();
        try (OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(tokenIds(batch, sequence, 7)), shape);
             OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(filled(batch * sequence, 1)), shape);
             OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(filled(batch * sequence, 0)), shape);
             OrtSession.Result result = session.run(Map.of("input_ids", ids, "attention_mask", mask,
                     "token_type_ids", types))) {
            ((OnnxTensor) result.get(0)).getFloatBuffer();
        }
        return System.nanoTime() - started;
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
