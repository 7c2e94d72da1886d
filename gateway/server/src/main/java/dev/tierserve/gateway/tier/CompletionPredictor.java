package dev.tierserve.gateway.tier;

import java.util.OptionalLong;

/** What {@code tier=auto} knows of the gateway's live latency and load (implemented over the recorded latencies). */
public interface CompletionPredictor {

    /** A percentile (0..100) of the compute time of a request of {@code batch} on a variant's session, if known. */
    OptionalLong computeNanos(String sessionKey, long batch, double percentile);

    /** How long a request submitted now waits for a worker. */
    long queueWaitNanos();

    /** The model's requests arriving per second lately, per inference worker. */
    double arrivalsPerWorkerSecond();
}
