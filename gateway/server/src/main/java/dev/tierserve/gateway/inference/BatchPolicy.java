package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.proto.inference.ModelDynamicBatching;
import java.util.concurrent.TimeUnit;

/**
 * How a model's requests share executions: Triton's dynamic batcher, from its config.pbtxt. With a
 * {@code dynamic_batching} block, a worker that takes a request also takes the compatible requests waiting behind it
 * (highest priority, then oldest, first) up to {@code max_batch_size} rows, and while it has fewer rows than the
 * largest {@code preferred_batch_size} it waits for more until the first request has waited
 * {@code max_queue_delay_microseconds} (0, the default: it takes only what already waits, so an idle gateway adds no
 * latency). Without the block every request runs alone, as in Triton.
 *
 * @param maxRows            the most rows of one request, and of one execution
 * @param targetRows         stop gathering at this many rows
 * @param maxQueueDelayNanos how long the first request of a batch may wait for more
 */
record BatchPolicy(boolean enabled, int maxRows, int targetRows, long maxQueueDelayNanos) {

    /** {@code gatewayMaxRows}: the limit where the model's config sets no {@code max_batch_size}. */
    static BatchPolicy of(ModelEntry model, int gatewayMaxRows) {
        int maxRows = model.config().getMaxBatchSize() > 0 ? model.config().getMaxBatchSize() : gatewayMaxRows;
        if (!model.config().hasDynamicBatching()) {
            return new BatchPolicy(false, maxRows, 1, 0);
        }
        ModelDynamicBatching batching = model.config().getDynamicBatching();
        int target = batching.getPreferredBatchSizeList().stream().mapToInt(Integer::intValue).max().orElse(maxRows);
        return new BatchPolicy(true, maxRows, Math.min(target, maxRows),
                TimeUnit.MICROSECONDS.toNanos(batching.getMaxQueueDelayMicroseconds()));
    }
}
