package dev.tierserve.compressor.method;

import java.util.List;

/**
 * One structured compression method: it builds variants of the context's parent for the speedup targets it can
 * reach, each measured against the parent, and reports the targets it cannot reach. A method is only its algorithm;
 * everything methods share (calibration texts, the parent's reference outputs, the calibration runner, the latency
 * meter and its timing batch) comes from the {@link MethodContext}.
 *
 * @param <R> the method's result: its variants and unreached targets, and what it measured on the way
 */
public interface CompressionMethod<R extends MethodResult> {

    R compress(MethodContext context, List<Double> targets);
}
