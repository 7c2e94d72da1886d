package dev.tierserve.compressor.worker;

import dev.tierserve.compressor.TestModels;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.RuntimeSettings;
import dev.tierserve.proto.compressor.SubmitJobRequest;

import java.nio.file.Path;
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
                .setCalibrationTexts(16).setTestTexts(20)
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
}
