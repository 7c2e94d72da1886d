package dev.tierserve.compressor.method.bonsai;

/**
 * One round: how many units there were and were candidates, the sampled sub-models' best loss, the regression's
 * cross-validated rank correlation, what was pruned and the measured speedup after it.
 */
public record BonsaiRound(int units, int candidates, int samples, double bestSampleLoss, double rankCorrelation,
                          int pruned, double measuredSpeedup, double seconds) {
}
