package dev.tierserve.gateway.stats;

/**
 * Phase times of one successful request, in nanoseconds. A request that shared an execution with others (dynamic
 * batching) is charged the execution's compute phases, as in Triton.
 *
 * @param queue          from arrival to the start of its execution, less its preparation
 * @param input          preparing it (decoding, tokenising) and binding its execution's inputs
 * @param infer          the ONNX Runtime call
 * @param output         splitting and encoding outputs (and pooling, for text models)
 * @param total          from receipt to response
 * @param batch          the request's batch size (its inference count)
 * @param executionBatch the rows of its execution when this request counts the execution (one request of each
 *                       does), else 0
 */
public record InferenceTimings(long queue, long input, long infer, long output, long total, long batch,
                               long executionBatch) {
}
