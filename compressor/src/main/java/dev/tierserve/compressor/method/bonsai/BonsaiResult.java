package dev.tierserve.compressor.method.bonsai;

import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.MethodResult;
import dev.tierserve.compressor.method.Unreached;

import java.util.List;

/** Every round and the variants taken where the measured speedup first reached a target. */
public record BonsaiResult(List<BonsaiRound> rounds, List<CompressedVariant> variants, List<Unreached> unreached)
        implements MethodResult {
}
