package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.stats.ArrivalRate;
import dev.tierserve.gateway.stats.LiveLatency;
import dev.tierserve.gateway.tier.CompletionPredictor;
import java.util.OptionalLong;

/**
 * {@code tier=auto}'s predictions for requests to one model: a variant's compute time over the last minute, the wait
 * behind the requests queued now (each costing the recent mean compute time per request, shared among the workers),
 * and the model's recent arrivals per worker.
 */
final class CompletionEstimator implements CompletionPredictor {

    private final String model;
    private final LiveLatency latency;
    private final ArrivalRate arrivals;
    private final InferenceExecutor executor;

    CompletionEstimator(String model, LiveLatency latency, ArrivalRate arrivals, InferenceExecutor executor) {
        this.model = model;
        this.latency = latency;
        this.arrivals = arrivals;
        this.executor = executor;
    }

    @Override
    public OptionalLong computeNanos(String sessionKey, long batch, double percentile) {
        return latency.computeNanos(LiveLatency.series(model, sessionKey), batch, percentile);
    }

    @Override
    public long queueWaitNanos() {
        int queued = executor.queued();
        return queued == 0 ? 0 : queued * latency.meanComputeNanos().orElse(0) / executor.workerCount();
    }

    @Override
    public double arrivalsPerWorkerSecond() {
        return arrivals.perSecond(model) / executor.workerCount();
    }
}
