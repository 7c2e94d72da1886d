package dev.tierserve.compressor.method.trimllm;

import dev.tierserve.compressor.graph.edit.SubBlock;

/**
 * One progressive step: the sub-block dropped, its calibration loss (with every earlier drop) scored through the
 * search graph's gates, its output norm on the parent (the tie-breaker) and the measured speedup after it.
 */
public record TrimStep(SubBlock dropped, double calibrationLoss, double outputNorm, double measuredSpeedup,
                       double parentMs, double variantMs) {
}
