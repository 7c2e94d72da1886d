package dev.tierserve.gateway.stats;

/**
 * Phase times of one successful request, in nanoseconds.
 *
 * @param queue    waiting for an inference worker
 * @param input    decoding and binding inputs (and tokenising, for text models)
 * @param infer    the ONNX Runtime call
 * @param output   encoding outputs (and pooling, for text models)
 * @param total    from receipt to response
 * @param batch    the request's batch size (its inference count)
 */
public record InferenceTimings(long queue, long input, long infer, long output, long total, long batch) {
}
