package dev.tierserve.compressor.method.ziplm;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.method.CompressedVariant;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One tier's variant: the physically pruned model, its speedup measured against the parent in one run on the
 * settings it was built for, and the plan that produced it.
 *
 * @param obsOnly  the same pruned model before the refit (OBS weights only): same shapes, for comparisons
 * @param heads    query heads kept per layer of the parent (0 = attention removed, or the whole layer)
 * @param channels MLP channels kept per layer of the parent (0 = MLP removed, or the whole layer)
 * @param attempts how many budgets were tried (more than one when a first solution measured below target)
 */
public record ZipLmResult(double targetSpeedup, ModelProto model, ModelProto obsOnly, double measuredSpeedup,
                          double parentMs, double variantMs, double calibrationLoss, String plan, int[] heads,
                          int[] channels, int attempts, double seconds) {

    public CompressedVariant variant(ZipLmOptions options) {
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("calibrationTexts", options.calibrationTexts());
        parameters.put("hessianTexts", options.hessianTexts());
        parameters.put("calibrationSequence", options.calibrationSequence());
        parameters.put("dampening", options.dampening());
        parameters.put("generations", options.generations());
        parameters.put("offspring", options.offspring());
        parameters.put("refitRidge", options.refitRidge());
        parameters.put("attempts", attempts);
        return new CompressedVariant("ziplm", targetSpeedup, model, measuredSpeedup, parentMs, variantMs,
                calibrationLoss, plan, parameters, seconds);
    }
}
