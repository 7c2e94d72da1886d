package dev.tierserve.store;

import java.util.Map;

/**
 * {@code variant.json}: what a variant is and what was measured about it (DESIGN.md's variant store).
 *
 * @param parent          the parent model's name
 * @param parentSha256    the parent's model file hash
 * @param parameters      the method's settings (calibration size, dampening, search sizes, …)
 * @param measuredSpeedup parent/variant latency, measured interleaved in one run on {@code runtime}
 * @param sha256          of this variant's {@code model.onnx} (with its external data file, when it has one: see
 *                        {@link VariantPublisher#variantSha256})
 * @param synthetic       true for variants of the project's random-weight decoders
 */
public record VariantManifest(String id, String parent, String parentSha256, String method,
                              Map<String, Object> parameters, double targetSpeedup, double measuredSpeedup,
                              Latency latency, Quality quality, String structure, String sha256, String created,
                              boolean synthetic) {

    /** The latency measurement behind the speedup. */
    public record Latency(double parentMs, double variantMs, RuntimeSettings runtime, int warmupRuns, int rounds) {
    }

    /** Quality against the parent on the held-out test split (one of the two is set). */
    public record Quality(String data, int testTexts, EncoderQuality encoder, DecoderQuality decoder) {
    }
}
