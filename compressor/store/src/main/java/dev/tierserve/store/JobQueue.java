package dev.tierserve.store;

import dev.tierserve.proto.compressor.Job;

import java.util.List;
import java.util.Optional;

/**
 * Compression jobs as durable records in the variant store, and the leases that let any number of workers share them:
 * a worker runs a job only while holding its lease, and compresses a tier only while holding that tier's lease, so a
 * dead worker's job is taken over by another once its lease lapses, and no model and tier is built twice at once.
 */
public interface JobQueue {

    /** Writes the job's record (its owner alone writes it while running). */
    void save(Job job);

    /** Every job record of every model, oldest first. */
    List<Job> all();

    default Optional<Job> find(String id) {
        return all().stream().filter(job -> job.getId().equals(id)).findFirst();
    }

    /**
     * The lease named {@code name} of {@code model} if no live worker (this one included) holds it; empty otherwise.
     * The lease is kept (renewed) until closed, or until the worker cannot renew it in time.
     */
    Optional<Lease> tryAcquire(String model, String name);

    /** A held lease. */
    interface Lease extends AutoCloseable {

        /** False once the lease lapsed (it could not be renewed in time): another worker may hold it now. */
        boolean held();

        /** Gives the lease up. */
        @Override
        void close();
    }
}
