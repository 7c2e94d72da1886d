package dev.tierserve.compressor.method.ziplm;

import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.MethodResult;
import dev.tierserve.compressor.method.Unreached;

import java.util.List;

/**
 * The targets ZipLM reached, lowest first, and those it could not reach on the measured runtime.
 *
 * @param variants the results as every method's variants, with ZipLM's options recorded
 */
public record ZipLmRun(List<ZipLmResult> results, List<CompressedVariant> variants, List<Unreached> unreached)
        implements MethodResult {
}
