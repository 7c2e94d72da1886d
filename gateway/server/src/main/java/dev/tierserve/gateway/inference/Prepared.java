package dev.tierserve.gateway.inference;

/**
 * A request decoded, validated and (for text) tokenised before it queues: what an execution needs of it, and which
 * other requests it may share an execution with.
 */
interface Prepared {

    /** Requests with equal keys may run in one execution; null: this one always runs alone. */
    Object batchKey();

    /** Its rows along the batch dimension: the first dimension of its tensors, or its sentences. */
    int rows();

    /** The most rows a batch led by this request may hold, below the model's {@code max_batch_size}. */
    default int batchRowLimit() {
        return Integer.MAX_VALUE;
    }
}
