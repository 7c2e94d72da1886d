package dev.tierserve.gateway.compression;

import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import java.util.concurrent.CompletableFuture;

/**
 * How the gateway reaches the compressor worker: its own child process (the default) or a remote one, over gRPC. Calls never block
 * the caller; a worker that cannot be reached fails the future with UNAVAILABLE.
 */
public interface CompressorClient extends AutoCloseable {

    /** Starts a job, or returns the unfinished job already covering the request's model and tiers. */
    CompletableFuture<Job> submit(SubmitJobRequest request);

    CompletableFuture<Job> job(String id);

    @Override
    void close();
}
