package dev.tierserve.compressor.method;

import ai.onnx.proto.OnnxMl.ModelProto;

import java.util.Map;

/**
 * What every compression method returns for a tier it reached: the physically edited model and its speedup
 * measured against the parent, interleaved in one run, on the runtime settings it was built for. Methods only
 * return variants whose measured speedup reaches the target; a target they miss is an {@link Unreached}.
 *
 * @param method          e.g. {@code ziplm}, {@code trimllm}, {@code trimllm+affine}, {@code parallel-fused}
 * @param calibrationLoss relative output error against the parent on the method's scoring texts
 * @param structure       what was removed or changed, for people
 * @param parameters      the method's settings and search outcome, recorded in the manifest
 */
public record CompressedVariant(String method, double targetSpeedup, ModelProto model, double measuredSpeedup,
                                double parentMs, double variantMs, double calibrationLoss, String structure,
                                Map<String, Object> parameters, double seconds) {
}
