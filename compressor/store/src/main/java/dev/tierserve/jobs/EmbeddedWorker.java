package dev.tierserve.jobs;

import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.VariantStore;

import java.util.Optional;
import java.util.ServiceLoader;
import java.util.function.Consumer;

/**
 * A compressor worker running inside the caller's process: the gateway's in-process mode. The worker and its
 * compression methods live in {@code tierserve-compressor}, which registers a {@link Factory}; an application built
 * without that jar finds no factory and can only submit jobs to a remote worker.
 */
public interface EmbeddedWorker extends AutoCloseable {

    /**
     * Queues a job, or returns the unfinished one for the same model and tiers.
     *
     * @throws IllegalArgumentException for a request the worker cannot run (unknown model, method or tier)
     */
    Job submit(SubmitJobRequest request);

    /** The job's latest state, wherever in the store it is running. */
    Optional<Job> job(String id);

    /** Runs again the unfinished jobs no worker holds; how many it took. */
    int resumeUnfinished();

    @Override
    void close();

    /** Starts embedded workers; registered as a {@link ServiceLoader} service. */
    interface Factory {

        /**
         * @param models  where the worker finds parent models
         * @param runtime what variants must be measured fast on when a request leaves it out: the caller's runtime
         * @param log     progress lines
         */
        EmbeddedWorker start(VariantStore store, ModelLocator models, RuntimeSettings runtime, Consumer<String> log);
    }

    /** The factory on the class path, if the compressor is there. */
    static Optional<Factory> factory() {
        return ServiceLoader.load(Factory.class, EmbeddedWorker.class.getClassLoader()).findFirst();
    }
}
