package dev.tierserve.compressor.worker;

import dev.tierserve.jobs.EmbeddedWorker;
import dev.tierserve.jobs.ModelLocator;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.VariantStore;

import java.util.function.Consumer;

/** The compressor's worker for applications that embed one (the gateway's in-process mode). */
public final class EmbeddedWorkerFactory implements EmbeddedWorker.Factory {

    @Override
    public EmbeddedWorker start(VariantStore store, ModelLocator models, RuntimeSettings runtime,
                                Consumer<String> log) {
        return new CompressionWorker(store, models, WorkerDefaults.of(runtime), log);
    }
}
