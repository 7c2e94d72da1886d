package dev.tierserve.compressor.method.ziplm;

import dev.tierserve.compressor.method.recovery.OutputProjectionRefit;

/**
 * ZipLM's knobs, with defaults sized for a 2-core CPU.
 *
 * @param calibrationTexts   texts whose activations build the Hessians
 * @param calibrationSequence tokens per calibration text (padding excluded from the statistics)
 * @param scoringTexts       calibration texts on which the evolutionary search scores stitched models
 * @param generations        evolutionary search generations over per-block error weights
 * @param offspring          candidates per generation
 * @param maxAttempts        budget tightenings before a target is declared unreachable
 * @param refitRidge         ridge of the output-projection refit after pruning ({@link OutputProjectionRefit});
 *                           0 skips the refit
 */
public record ZipLmOptions(int calibrationTexts, int calibrationSequence, int scoringTexts, double dampening,
                           int generations, int offspring, int maxAttempts, int buckets, long seed,
                           double refitRidge) {

    /**
     * 768 calibration texts (about 20k tokens of Brown at sequence 64): on BGE-small the refit and the Hessians gain
     * clearly over 256 texts (2x tier mean cosine 0.872 to about 0.907), and all three tiers still build in minutes.
     * 16 generations of 8 candidates: a candidate costs about 0.3 s, and on BGE-small at 1.5x this search lowered the
     * calibration loss from 0.166 (6 x 4) to 0.147 and raised the held-out mean cosine from 0.948 to 0.953 for 30 s
     * more; more scoring texts (160 instead of 48) changed neither.
     */
    public static ZipLmOptions defaults() {
        return new ZipLmOptions(768, 64, 48, StructuredObs.DEFAULT_DAMPENING, 16, 8, 5, 2000, 42,
                OutputProjectionRefit.DEFAULT_RIDGE);
    }

    public ZipLmOptions withCalibration(int texts, int sequence, int scoring) {
        return new ZipLmOptions(texts, sequence, scoring, dampening, generations, offspring, maxAttempts, buckets, seed,
                refitRidge);
    }

    public ZipLmOptions withSearch(int generationCount, int offspringCount) {
        return new ZipLmOptions(calibrationTexts, calibrationSequence, scoringTexts, dampening, generationCount,
                offspringCount, maxAttempts, buckets, seed, refitRidge);
    }
}
