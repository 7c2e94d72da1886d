package dev.tierserve.gateway.compression;

import dev.tierserve.compressor.store.VariantStore;
import dev.tierserve.compressor.worker.CompressionWorker;
import dev.tierserve.compressor.worker.JobNotFoundException;
import dev.tierserve.compressor.worker.ModelLocator;
import dev.tierserve.compressor.worker.WorkerDefaults;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.Logger;

/** The compressor worker inside the gateway's process, sharing its variant store and model repository. */
public final class InProcessCompressor implements CompressorClient {

    private static final Logger LOG = Logger.getLogger(InProcessCompressor.class);

    private final CompressionWorker worker;
    /** Submissions read the store's job records: kept off the gRPC threads. */
    private final ExecutorService calls = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "compressor-calls");
        thread.setDaemon(true);
        return thread;
    });

    public InProcessCompressor(VariantStore store, ModelLocator models, WorkerDefaults defaults) {
        this.worker = new CompressionWorker(store, models, defaults, LOG::info);
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
