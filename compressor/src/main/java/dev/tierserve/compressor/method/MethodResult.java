package dev.tierserve.compressor.method;

import java.util.List;

/** What a {@link CompressionMethod} produced: variants that reached their targets, and targets it could not reach. */
public interface MethodResult {

    List<CompressedVariant> variants();

    List<Unreached> unreached();
}
