package dev.tierserve.compressor.method.ziplm;

import dev.tierserve.compressor.method.Unreached;

import java.util.List;

/** The targets ZipLM reached, in the order asked, and those it could not reach on the measured runtime. */
public record ZipLmRun(List<ZipLmResult> results, List<Unreached> unreached) {
}
