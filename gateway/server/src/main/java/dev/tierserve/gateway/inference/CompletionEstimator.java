package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.stats.LiveLatency;
import dev.tierserve.gateway.tier.CompletionPredictor;
import java.util.OptionalLong;

/**
 * {@code tier=auto}'s predictions for requests to one model: a variant's compute time at its 95th percentile over
 * the last minute, and the wait behind the requests queued now (each costing the recent mean compute time, shared
 * among the workers).
 */
final class CompletionEstimator implements CompletionPredictor {

    static final double PERCENTILE = 95;

    private final String model;
    private final LiveLatency latency;
    private final InferenceExecutor executor;

    CompletionEstimator(String model, LiveLatency latency, InferenceExecutor executor) {
        this.model = model;
        this.latency = latency;
        this.executor = executor;
    }

    @Override
    public OptionalLong computeNanos(String sessionKey, long batch) {
        return computeNanos(sessionKey, batch, PERCENTILE);
    }

    /** A percentile (0..100) of a variant's recent compute time at this batch size. */
    OptionalLong computeNanos(String sessionKey, long batch, double percentile) {
        return latency.computeNanos(LiveLatency.series(model, sessionKey), batch, percentile);
    }

    @Override
    public long queueWaitNanos() {
        int queued = executor.queued();
        return queued == 0 ? 0 : queued * latency.meanComputeNanos().orElse(0) / executor.workerCount();
    }
}
