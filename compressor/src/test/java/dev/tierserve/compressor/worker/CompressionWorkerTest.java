package dev.tierserve.compressor.worker;

import dev.tierserve.compressor.plan.Method;
import dev.tierserve.jobs.JobNotFoundException;
import dev.tierserve.jobs.ModelLocator;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.Pooling;
import dev.tierserve.proto.compressor.Precision;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.StoredVariant;
import dev.tierserve.store.VariantStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.tierserve.compressor.worker.WorkerFixtures.MODEL;
import static dev.tierserve.compressor.worker.WorkerFixtures.await;
import static dev.tierserve.compressor.worker.WorkerFixtures.smallJob;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The in-process worker on all-MiniLM-L6: jobs, their records, deduplication and cancellation. */
class CompressionWorkerTest {

    @TempDir
    Path dir;

    private CompressionWorker worker(VariantStore store) throws Exception {
        Path models = Files.isDirectory(dir.resolve("models")) ? dir.resolve("models")
                : WorkerFixtures.models(dir.resolve("models"));
        return new CompressionWorker(store, ModelLocator.directory(models),
                new WorkerDefaults(RuntimeSettings.cpu(1, 1, 64), List.of(Method.TRIMLLM), 20), line -> { });
    }

    /** The small job, asking for the quality of the CLS-pooled, L2-normalised embedding. */
    private static SubmitJobRequest clsJob(String tier) {
        return smallJob(tier).toBuilder().setPooling(Pooling.POOLING_CLS).setNormalize(true).build();
    }

    @Test
    void aJobPublishesOneMeasuredVariantPerTierRecordsItsDecisionAndIsNotRunTwice() throws Exception {
        VariantStore store = VariantStore.filesystem(dir.resolve("store"));
        try (CompressionWorker worker = worker(store)) {
            Job job = worker.submit(clsJob("1.2x"));
            assertEquals(job.getId(), worker.submit(clsJob("1.20x")).getId(), "same model and tier: same job");
            List<Job> seen = new CopyOnWriteArrayList<>();
            worker.watch(job.getId(), seen::add);

            Job done = await(() -> worker.job(job.getId()).orElseThrow(), CompressionWorker::finished, 600);
            assertEquals(Job.State.SUCCEEDED, done.getState(), done.toString());
            assertEquals(1, done.getAttempts());
            String variantId = done.getTiers(0).getVariantId();
            assertFalse(variantId.isEmpty(), done.toString());
            assertTrue(done.getTiers(0).getCandidatesList().stream().anyMatch(c -> c.getChosen()));

            List<StoredVariant> variants = store.variants(MODEL);
            assertEquals(1, variants.size());
            StoredVariant variant = variants.get(0);
            assertEquals(variantId, variant.id());
            assertEquals(job.getId(), variant.manifest().parameters().get("jobId"));
            assertEquals("cls", variant.manifest().parameters().get("pooling"), "the job's pooling, off the wire");
            assertEquals(true, variant.manifest().parameters().get("normalize"));
            assertTrue(variant.manifest().measuredSpeedup() >= 1.2, "measured " + variant.manifest().measuredSpeedup());
            assertEquals(variantId, store.tiers(MODEL).get("1.2x").stable());
            assertTrue(seen.stream().anyMatch(j -> j.getState() == Job.State.RUNNING));
            assertEquals(Job.State.SUCCEEDED, seen.get(seen.size() - 1).getState());

            // The record survives the worker: another one reads it from the store.
            try (CompressionWorker reader = worker(store)) {
                assertEquals(done, reader.job(job.getId()).orElseThrow());
            }

            // Asking again once the tier exists: a new job that publishes nothing new.
            Job again = worker.submit(smallJob("1.2x"));
            Job second = await(() -> worker.job(again.getId()).orElseThrow(), CompressionWorker::finished, 60);
            assertEquals(Job.State.SUCCEEDED, second.getState());
            assertEquals(variantId, second.getTiers(0).getVariantId());
            assertTrue(second.getTiers(0).getReason().startsWith("already published"), second.getTiers(0).getReason());
            assertEquals(1, store.variants(MODEL).size());
        }
    }

    @Test
    void aJobThatAsksForInt8GetsTheQuantizedParentWhereItReachesTheTier() throws Exception {
        VariantStore store = VariantStore.filesystem(dir.resolve("store"));
        try (CompressionWorker worker = worker(store)) {
            Job job = worker.submit(smallJob("1.2x").toBuilder().clearPrecisions().addPrecisions(Precision.PRECISION_INT8)
                    .build());
            assertEquals(List.of(Precision.PRECISION_INT8), job.getRequest().getPrecisionsList());

            Job done = await(() -> worker.job(job.getId()).orElseThrow(), CompressionWorker::finished, 600);
            assertEquals(Job.State.SUCCEEDED, done.getState(), done.toString());
            assertFalse(done.getTiers(0).getVariantId().isEmpty(), done.toString());
            // int8 only: no float32 candidate was built, and TrimLLM was not asked for a base the parent reaches.
            assertTrue(done.getTiers(0).getCandidatesList().stream().allMatch(c -> c.getMethod().equals("int8")),
                    done.getTiers(0).getCandidatesList().toString());
            StoredVariant variant = store.variants(MODEL).get(0);
            assertEquals("int8", variant.manifest().method());
            assertEquals("int8", variant.manifest().parameters().get("precision"));
            assertTrue(variant.manifest().measuredSpeedup() >= 1.2, "measured " + variant.manifest().measuredSpeedup());
        }
    }

    @Test
    void cancellingARunningJobStopsItAndPublishesNothing() throws Exception {
        VariantStore store = VariantStore.filesystem(dir.resolve("store"));
        try (CompressionWorker worker = worker(store)) {
            Job job = worker.submit(smallJob("1.3x"));
            await(() -> worker.job(job.getId()).orElseThrow(), j -> j.getState() == Job.State.RUNNING, 60);
            worker.cancel(job.getId());
            Job done = await(() -> worker.job(job.getId()).orElseThrow(), CompressionWorker::finished, 120);
            assertEquals(Job.State.CANCELLED, done.getState(), done.toString());
            assertEquals(List.of(), store.variants(MODEL));
        }
    }

    @Test
    void aJobWhoseWorkerStoppedDuringEveryAttemptFailsInsteadOfRunningAgain() throws Exception {
        VariantStore store = VariantStore.filesystem(dir.resolve("store"));
        // What a worker that died three times mid-job (out of memory, say) leaves in the store: RUNNING, unowned.
        Job crashed = Job.newBuilder().setId("job-crashed").setRequest(smallJob("1.3x")).setState(Job.State.RUNNING)
                .setAttempts(CompressionWorker.MAX_ATTEMPTS).setProgress("pruning")
                .setCreated("2026-12-08T00:00:00Z").setUpdated("2026-12-08T00:00:00Z").build();
        store.jobs().save(crashed);
        try (CompressionWorker worker = worker(store)) {
            assertEquals(1, worker.resumeUnfinished());
            Job done = await(() -> worker.job("job-crashed").orElseThrow(), CompressionWorker::finished, 60);
            assertEquals(Job.State.FAILED, done.getState(), done.toString());
            assertEquals(CompressionWorker.MAX_ATTEMPTS, done.getAttempts(), "not run a fourth time");
            assertTrue(done.getError().contains("stopped during each of its 3 attempts"), done.getError());
            assertEquals(List.of(), store.variants(MODEL));
        }
    }

    @Test
    void badRequestsAreRefusedBeforeAJobExists() throws Exception {
        VariantStore store = VariantStore.filesystem(dir.resolve("store"));
        try (CompressionWorker worker = worker(store)) {
            SubmitJobRequest good = smallJob("1.5x");
            assertThrows(IllegalArgumentException.class, () -> worker.submit(good.toBuilder().setModel("nope").build()));
            assertThrows(IllegalArgumentException.class, () -> worker.submit(good.toBuilder().setModel("../minilm").build()));
            assertThrows(IllegalArgumentException.class, () -> worker.submit(good.toBuilder().clearTiers().build()));
            assertThrows(IllegalArgumentException.class, () -> worker.submit(good.toBuilder().setTiers(0, "fast").build()));
            assertThrows(IllegalArgumentException.class, () -> worker.submit(good.toBuilder().setMethods(0, "magic").build()));
            assertThrows(IllegalArgumentException.class, () -> worker.submit(good.toBuilder()
                    .setRuntime(good.getRuntime().toBuilder().setProvider("tpu")).build()));
            assertThrows(IllegalArgumentException.class, () -> worker.submit(good.toBuilder()
                    .setRuntime(good.getRuntime().toBuilder().setThreads(0)).build()));
            assertThrows(IllegalArgumentException.class, () -> worker.submit(good.toBuilder().setPoolingValue(7).build()));
            assertThrows(IllegalArgumentException.class, () -> worker.submit(good.toBuilder().addPrecisionsValue(9)
                    .build()));
            assertEquals(List.of(), worker.jobs(""));
            assertThrows(JobNotFoundException.class, () -> worker.cancel("job-missing"));
        }
    }
}
