package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.ModelDynamicBatching;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelQueuePolicy;
import io.grpc.Status;

/**
 * A model's queue policy, Triton's {@code dynamic_batching} fields of its config.pbtxt: priority levels 1 (highest)
 * to {@code priority_levels}, chosen by the request parameter {@code priority} (0 or absent: the default level), and
 * per level (else the default queue policy) a bound on waiting requests and a default timeout the request's
 * {@code timeout} may override only where allowed.
 */
final class QueuePolicy {

    private final String model;
    private final ModelDynamicBatching batching;

    QueuePolicy(ModelEntry model) {
        this.model = model.name();
        this.batching = model.config().getDynamicBatching();
    }

    /** The request's priority level: 1 is served first; 0 when the model has no priority levels. */
    int priority(ModelInferRequest request) {
        InferParameter given = request.getParametersMap().get("priority");
        long levels = batching.getPriorityLevels();
        if (levels == 0) {
            return 0; // Triton: a model without priority levels ignores the parameter
        }
        long level = given == null ? 0 : switch (given.getParameterChoiceCase()) {
            case INT64_PARAM -> given.getInt64Param();
            case UINT64_PARAM -> given.getUint64Param();
            default -> throw Status.INVALID_ARGUMENT
                    .withDescription("parameter 'priority' must be an integer level").asRuntimeException();
        };
        if (level == 0) {
            level = batching.getDefaultPriorityLevel() == 0 ? levels : batching.getDefaultPriorityLevel();
        }
        if (level < 0 || level > levels) {
            throw Status.INVALID_ARGUMENT.withDescription("parameter 'priority' must be 1.." + levels + " for model '"
                    + model + "' (1 is the highest), got " + level).asRuntimeException();
        }
        return (int) level;
    }

    /** Most requests of this level that may wait; 0: no bound but the gateway's. */
    int maxQueueSize(int priority) {
        return policy(priority).getMaxQueueSize();
    }

    /**
     * The request's timeout in microseconds, 0 for none: its {@code timeout} parameter where the policy allows it,
     * else the policy's default.
     */
    long timeoutMicros(int priority, long requested) {
        ModelQueuePolicy policy = policy(priority);
        long fallback = policy.getDefaultTimeoutMicroseconds();
        if (requested > 0 && (fallback == 0 || policy.getAllowTimeoutOverride())) {
            return requested;
        }
        return fallback;
    }


    private ModelQueuePolicy policy(int priority) {
        return batching.getPriorityQueuePolicyOrDefault(priority, batching.getDefaultQueuePolicy());
    }
}
