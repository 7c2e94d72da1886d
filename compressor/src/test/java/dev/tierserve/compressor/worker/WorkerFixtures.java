package dev.tierserve.compressor.worker;

import dev.tierserve.compressor.TestModels;
import dev.tierserve.proto.compressor.CompressorServiceGrpc;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.ListJobsRequest;
import dev.tierserve.proto.compressor.RuntimeSettings;
import dev.tierserve.proto.compressor.Precision;
import dev.tierserve.proto.compressor.SubmitJobRequest;

import io.grpc.StatusRuntimeException;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** A model repository with all-MiniLM-L6 and a small, fast job for it (TrimLLM, 16 texts, sequence 64). */
final class WorkerFixtures {

    static final String MODEL = "minilm";

    private WorkerFixtures() {
    }

    static Path models(Path dir) throws Exception {
        TestModels.modelDirectory(dir.resolve(MODEL), TestModels.MINILM, TestModels.MINILM_TOKENIZER);
        return dir;
    }

    static SubmitJobRequest smallJob(String tier) {
        return SubmitJobRequest.newBuilder().setModel(MODEL).addTiers(tier).addMethods("trimllm")
                .addPrecisions(Precision.PRECISION_FLOAT32).setCalibrationTexts(16).setTestTexts(20)
                .setRuntime(RuntimeSettings.newBuilder().setProvider("cpu").setThreads(1).setBatch(1).setSequence(64))
                .build();
    }

    /** Polls until {@code job} returns a job that satisfies {@code done}, or fails after the timeout. */
    static Job await(Supplier<Job> job, java.util.function.Predicate<Job> done, long timeoutSeconds) throws Exception {
        long until = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        Job last = job.get();
        while (!done.test(last)) {
            if (System.nanoTime() > until) {
                throw new AssertionError("timed out waiting; last state: " + last);
            }
            Thread.sleep(200);
            last = job.get();
        }
        return last;
    }

    /** The stub once the server answers (a fresh JVM takes a few seconds to listen). */
    static CompressorServiceGrpc.CompressorServiceBlockingStub awaitServer(
            CompressorServiceGrpc.CompressorServiceBlockingStub stub) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                stub.withDeadlineAfter(5, TimeUnit.SECONDS).listJobs(ListJobsRequest.getDefaultInstance());
                return stub;
            } catch (StatusRuntimeException e) {
                if (System.nanoTime() > until) {
                    throw e;
                }
                Thread.sleep(300);
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
