package dev.tierserve.compressor.method.bonsai;

import dev.tierserve.compressor.method.recovery.OutputProjectionRefit;

/**
 * Bonsai's settings. The paper samples hundreds of sub-models per round on a GPU; the defaults here are scaled to
 * a 2-core CPU and printed with every run.
 *
 * @param scoringTexts      calibration texts scoring every sampled sub-model
 * @param sequence          their token length
 * @param priorTexts        calibration texts for the activation RMS of the prior
 * @param channelGroup      MLP channels per unit (grouped by prior within a layer: one unit per group)
 * @param candidateFraction the lowest-prior fraction of units a round may drop (the rest are fixed)
 * @param dropFraction      the probability that the first mask of an antithetic pair drops a candidate
 * @param samplesPerRound   sub-models evaluated per round (pairs × 2)
 * @param roundFraction     the fraction of the remaining units one round prunes
 * @param folds             cross-validation folds choosing the L1 penalty
 * @param refitRidge        ridge of the output-projection refit of each published variant
 *                          ({@link OutputProjectionRefit}); 0 publishes the pruned weights as they are
 */
public record BonsaiOptions(int scoringTexts, int sequence, int priorTexts, int channelGroup,
                            double candidateFraction, double dropFraction, int samplesPerRound, double roundFraction,
                            int folds, long seed, double refitRidge) {

    public static BonsaiOptions defaults() {
        return new BonsaiOptions(32, 64, 64, 64, 0.5, 0.5, 120, 0.1, 5, 42,
                OutputProjectionRefit.DEFAULT_RIDGE);
    }

    public BonsaiOptions withSampling(int scoring, int channels, int samples, double round) {
        return new BonsaiOptions(scoring, sequence, priorTexts, channels, candidateFraction, dropFraction, samples,
                round, folds, seed, refitRidge);
    }

    public BonsaiOptions withRefitRidge(double ridge) {
        return new BonsaiOptions(scoringTexts, sequence, priorTexts, channelGroup, candidateFraction, dropFraction,
                samplesPerRound, roundFraction, folds, seed, ridge);
    }
}
