package dev.tierserve.gateway.compression;

import dev.tierserve.jobs.EmbeddedWorker;
import dev.tierserve.jobs.JobNotFoundException;
import dev.tierserve.jobs.ModelLocator;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.VariantStore;
import io.grpc.Status;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.Logger;

/**
 * The compressor worker inside the gateway's process, sharing its variant store and model repository. Needs the
 * compressor's methods on the class path; a gateway packaged without them serves in remote mode only.
 */
public final class InProcessCompressor implements CompressorClient {

    private static final Logger LOG = Logger.getLogger(InProcessCompressor.class);

    static final String PACKAGED_WITHOUT = "gateway.compressor.mode=in-process needs the compressor, and this gateway"
            + " was packaged without it (quarkus-app-remote); set gateway.compressor.mode=remote with"
            + " gateway.compressor.address, or off";

    private final EmbeddedWorker worker;
    /** Submissions read the store's job records: kept off the gRPC threads. */
    private final ExecutorService calls = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "compressor-calls");
        thread.setDaemon(true);
        return thread;
    });

    /** @throws IllegalStateException when this gateway was packaged without the compressor */
    public InProcessCompressor(VariantStore store, ModelLocator models, RuntimeSettings runtime) {
        this.worker = EmbeddedWorker.factory().orElseThrow(() -> new IllegalStateException(PACKAGED_WITHOUT))
                .start(store, models, runtime, LOG::info);
        calls.execute(() -> {
            int resumed = worker.resumeUnfinished();
            if (resumed > 0) {
                LOG.infof("resumed %d unfinished compression job(s)", resumed);
            }
        });
    }

    @Override
    public CompletableFuture<Job> submit(SubmitJobRequest request) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return worker.submit(request);
            } catch (IllegalArgumentException e) {
                throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
            } catch (IllegalStateException | UncheckedIOException e) {
                // the store is unreachable, or another worker's submission never ended: a later request tries again
                throw Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException();
            }
        }, calls);
    }

    @Override
    public CompletableFuture<Job> job(String id) {
        return CompletableFuture.supplyAsync(() -> worker.job(id).orElseThrow(() -> new JobNotFoundException(id)), calls);
    }

    @Override
    public void close() {
        calls.shutdownNow();
        worker.close();
    }
}
