package dev.tierserve.gateway.tier;

import java.util.OptionalLong;

/** What {@code tier=auto} knows of the gateway's live latency (implemented over the recorded latencies). */
public interface CompletionPredictor {

    /** The compute time (its 95th percentile) of a request of {@code batch} on a variant's session, if known. */
    OptionalLong computeNanos(String sessionKey, long batch);

    /** How long a request submitted now waits for a worker. */
    long queueWaitNanos();
}
