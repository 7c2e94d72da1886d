package dev.tierserve.gateway.runtime;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.gateway.tier.VariantKey;
import dev.tierserve.store.CorruptVariantException;
import io.grpc.Deadline;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Loaded ONNX Runtime sessions, keyed by model or by variant ({@link VariantKey}), loaded lazily and at most once per key.
 *
 * <p>Weighed by the bytes of their weights with a configured maximum; Caffeine evicts the least valuable session
 * when a load would exceed it. Evicted sessions are retired, and closed only once the last request using them
 * has finished (see {@link LoadedSession}).
 */
@ApplicationScoped
public class SessionCache {

    private static final Logger LOG = Logger.getLogger(SessionCache.class);
    /**
     * How long a failed load is answered from memory. Without it every request for a corrupt model would read and
     * parse its file again (and log a stack trace): a cheap way to keep the loader threads and the disk busy.
     */
    static final Duration RETRY_FAILED_LOAD_AFTER = Duration.ofSeconds(30);
    /** At shutdown, how long the loader may take to finish a load in flight (whose session is left to the exit). */
    private static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(10);

    private final OnnxRuntimeFactory runtime;
    private final ModelRepository repository;
    private final VariantCatalog catalog;
    private final ExecutorService loader = Executors.newFixedThreadPool(2, runnable -> {
        Thread thread = new Thread(runnable, "session-loader");
        thread.setDaemon(true);
        return thread;
    });
    private final AsyncLoadingCache<String, LoadedSession> sessions;
    private final Cache<String, ModelLoadException> failures = Caffeine.newBuilder()
            .expireAfterWrite(RETRY_FAILED_LOAD_AFTER).maximumSize(10_000).build();
    private final AtomicLong loads = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final AtomicLong loadFailures = new AtomicLong();
    private final AtomicLong closes = new AtomicLong();

    public SessionCache(OnnxRuntimeFactory runtime, ModelRepository repository, VariantCatalog catalog,
                        GatewayConfig config, MeterRegistry meters) {
        this.runtime = runtime;
        this.repository = repository;
        this.catalog = catalog;
        this.sessions = Caffeine.newBuilder()
                .maximumWeight(Math.max(1, config.cache().maxBytes() / 1024))
                // Caffeine weights are ints: weigh in KiB so that models over 2 GB still fit.
                .weigher((String key, LoadedSession loaded) -> (int) Math.min(Integer.MAX_VALUE, loaded.weightBytes() / 1024))
                .executor(loader)
                .removalListener((String key, LoadedSession loaded, RemovalCause cause) -> {
                    if (loaded != null) {
                        if (cause.wasEvicted()) {
                            evictions.incrementAndGet();
                        }
                        LOG.debugf("retiring session %s (%s)", key, cause);
                        loaded.retire();
                    }
                })
                .recordStats()
                .buildAsync(this::open);
        // cache_gets_total{result=hit|miss}, cache_evictions_total, cache_size, ... under cache="sessions".
        CaffeineCacheMetrics.monitor(meters, sessions, "sessions");
        meters.gauge("gateway.sessions.loaded.bytes", this, SessionCache::loadedBytes);
        meters.more().counter("gateway.sessions.loads", List.of(), loads);
        meters.more().counter("gateway.sessions.evictions", List.of(), evictions);
        meters.more().counter("gateway.sessions.load.failures", List.of(), loadFailures);
        meters.more().counter("gateway.sessions.closes", List.of(), closes);
    }

    /**
     * A lease on the session for {@code key}, loading it if needed (it may have been evicted since the request was
     * admitted), waiting no longer than {@code deadline} (null: none). The caller must close the lease.
     *
     * @throws ModelLoadException when the model's file cannot be opened
     * @throws io.grpc.StatusRuntimeException DEADLINE_EXCEEDED when the deadline passes while it loads
     */
    public SessionLease acquire(String key, Deadline deadline) throws InterruptedException {
        while (true) {
            LoadedSession loaded;
            try {
                CompletableFuture<LoadedSession> future = load(key);
                loaded = deadline == null ? future.get()
                        : future.get(Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS)), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                throw unwrap(e.getCause());
            } catch (TimeoutException e) {
                throw Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded while model " + key + " was loading")
                        .asRuntimeException();
            }
            if (loaded.tryAcquire()) {
                return new SessionLease(loaded);
            }
            // Evicted between lookup and acquire: the next lookup loads a fresh session.
        }
    }

    /**
     * The session for {@code key}, loading it in the background if needed; for metadata, which reads only what the
     * session described at load time and so needs no lease.
     */
    public CompletableFuture<LoadedSession> load(String key) {
        ModelLoadException failed = failures.getIfPresent(key);
        if (failed != null) {
            return CompletableFuture.failedFuture(failed);
        }
        return sessions.get(key);
    }

    /** Loads that failed since start; a failure answered from memory does not count again. */
    public long loadFailureCount() {
        return loadFailures.get();
    }

    /** The loaded session for {@code key}, without loading it; null when not loaded. */
    public LoadedSession ifLoaded(String key) {
        CompletableFuture<LoadedSession> future = sessions.getIfPresent(key);
        if (future == null || !future.isDone() || future.isCompletedExceptionally()) {
            return null;
        }
        return future.join();
    }

    public long loadedBytes() {
        return sessions.synchronous().asMap().values().stream().mapToLong(LoadedSession::weightBytes).sum();
    }

    /** Sessions loaded since start (a reload after eviction counts again). */
    public long loadCount() {
        return loads.get();
    }

    public long evictionCount() {
        return evictions.get();
    }

    /** Native sessions closed since start: each once, when the cache let go of it and its last request ended. */
    public long closeCount() {
        return closes.get();
    }

    /** Sessions the cache holds now (a retired session still finishing requests is not counted). */
    public long cachedCount() {
        sessions.synchronous().cleanUp();
        return sessions.synchronous().estimatedSize();
    }

    private LoadedSession open(String key) {
        long started = System.nanoTime();
        VariantKey variant = VariantKey.parse(key);
        Path file;
        try {
            file = variant == null ? repository.onnxFile(key) : catalog.verifiedModelFile(variant);
        } catch (CorruptVariantException e) {
            catalog.refuse(variant, e.getMessage());
            throw failed(key, new ModelLoadException(e.getMessage(), e));
        } catch (IllegalStateException e) {
            throw failed(key, new ModelLoadException(e.getMessage(), e));
        }
        try {
            long bytes = Files.size(file);
            OrtSession session = runtime.open(file);
            LoadedSession loaded = new LoadedSession(key, session, bytes, closes::incrementAndGet);
            loads.incrementAndGet();
            LOG.infof("loaded %s (%d MiB) in %d ms", key, bytes >> 20, (System.nanoTime() - started) / 1_000_000);
            repository.markLoaded(key);
            return loaded;
        } catch (OrtException | IOException e) {
            String reason = "model " + key + " failed to load from " + file.getFileName() + ": " + e.getMessage();
            throw failed(key, new ModelLoadException(reason, e));
        }
    }

    private ModelLoadException failed(String key, ModelLoadException failure) {
        repository.markFailed(key, failure.getMessage());
        loadFailures.incrementAndGet();
        failures.put(key, failure);
        return failure;
    }

    private static RuntimeException unwrap(Throwable cause) {
        if (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof RuntimeException runtimeException) {
            return runtimeException;
        }
        return new IllegalStateException(cause);
    }

    /**
     * Closes every session nobody is using (one still leased closes when its request ends). The cache's removal
     * listener runs on the loader and is not relied on here: once the loader has stopped, the sessions that were
     * cached are retired directly.
     */
    @PreDestroy
    void shutdown() {
        List<LoadedSession> cached = List.copyOf(sessions.synchronous().asMap().values());
        sessions.synchronous().invalidateAll();
        loader.shutdown();
        try {
            if (!loader.awaitTermination(SHUTDOWN_WAIT.toSeconds(), TimeUnit.SECONDS)) {
                loader.shutdownNow();
            }
        } catch (InterruptedException e) {
            loader.shutdownNow();
            Thread.currentThread().interrupt();
        }
        cached.forEach(LoadedSession::retire);
        LOG.infof("closed %d of the %d session(s) loaded since start", closes.get(), loads.get());
    }
}
