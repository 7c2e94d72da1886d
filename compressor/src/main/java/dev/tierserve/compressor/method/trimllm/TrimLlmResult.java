package dev.tierserve.compressor.method.trimllm;

import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.MethodResult;
import dev.tierserve.compressor.method.Unreached;

import java.util.List;

/**
 * The progressive trajectory and the variants taken from it: for every target the first step whose measured
 * speedup reaches it ({@code trimllm}) and, with recovery on, the same drops with affine corrections
 * ({@code trimllm+affine}) at the first step whose corrected model also measures at or above the target.
 */
public record TrimLlmResult(List<TrimStep> steps, List<CompressedVariant> variants, List<Unreached> unreached)
        implements MethodResult {
}
