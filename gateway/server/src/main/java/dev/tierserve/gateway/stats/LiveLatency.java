package dev.tierserve.gateway.stats;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The last minute's latencies of every variant the gateway served, per series (a model as clients address it and the
 * session serving it: a text model and its base model share a session but not their costs) and batch-size bucket
 * (1, 2, 4, 8, …: a request of batch 5 counts in bucket 4), split into queue time and compute time. What
 * {@code tier=auto} predicts from.
 */
@ApplicationScoped
public class LiveLatency {

    static final int SLICES = 6;
    static final long SLICE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private record Key(String series, long bucket) {
    }

    private record Windows(LatencyWindow queue, LatencyWindow compute) {
    }

    private final Map<Key, Windows> windows = new ConcurrentHashMap<>();
    private final LatencyWindow allCompute;
    private final LongSupplier clock;

    public LiveLatency() {
        this(System::nanoTime);
    }

    LiveLatency(LongSupplier clock) {
        this.clock = clock;
        this.allCompute = new LatencyWindow(SLICES, SLICE_NANOS, clock);
    }

    /** The series of requests to {@code model} served by the session {@code sessionKey}. */
    public static String series(String model, String sessionKey) {
        return model + " " + sessionKey;
    }

    /** One successful request of a series (see {@link #series}) that had its execution to itself. */
    public void record(String series, long batch, long queueNanos, long computeNanos) {
        record(series, batch, queueNanos, computeNanos, 1);
    }

    /**
     * One successful request of a series (see {@link #series}), which ran in an execution of {@code sharedBy}
     * requests: its latency is the execution's compute time, the workers' time it cost a share of it.
     */
    public void record(String series, long batch, long queueNanos, long computeNanos, int sharedBy) {
        Windows w = windows.computeIfAbsent(new Key(series, bucket(batch)),
                k -> new Windows(new LatencyWindow(SLICES, SLICE_NANOS, clock), new LatencyWindow(SLICES, SLICE_NANOS, clock)));
        w.queue().record(queueNanos);
        w.compute().record(computeNanos);
        allCompute.record(computeNanos / Math.max(1, sharedBy));
    }

    /** The compute-time percentile (0..100) of a series at a batch size; empty when it ran no such batch lately. */
    public OptionalLong computeNanos(String series, long batch, double percentile) {
        Windows w = windows.get(new Key(series, bucket(batch)));
        return w == null ? OptionalLong.empty() : w.compute().percentileNanos(percentile);
    }

    /** The queue-time percentile (0..100) of a series at a batch size; empty when it ran no such batch lately. */
    public OptionalLong queueNanos(String series, long batch, double percentile) {
        Windows w = windows.get(new Key(series, bucket(batch)));
        return w == null ? OptionalLong.empty() : w.queue().percentileNanos(percentile);
    }

    /**
     * The mean workers' time of every request lately, whatever its variant (a batched request's share of its
     * execution): what a queued request costs.
     */
    public OptionalLong meanComputeNanos() {
        return allCompute.meanNanos();
    }

    /** The largest power of two not above {@code batch} (at least 1). */
    static long bucket(long batch) {
        return Long.highestOneBit(Math.max(1, batch));
    }
}
