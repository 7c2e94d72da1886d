package dev.tierserve.compressor.method.ziplm;

import dev.tierserve.compressor.method.recovery.OutputProjectionRefit;

/**
 * ZipLM's knobs, with defaults sized for a 2-core CPU.
 *
 * @param calibrationTexts    calibration texts: the refit fits on all of them
 * @param hessianTexts        the first of them, whose activations build the Hessians
 * @param calibrationSequence tokens per calibration text (padding excluded from the statistics)
 * @param scoringTexts        the first of them, on which the evolutionary search scores stitched models
 * @param generations         evolutionary search generations over per-block error weights
 * @param offspring           candidates per generation
 * @param maxAttempts         budget tightenings before a target is declared unreachable
 * @param refitRidge          ridge of the output-projection refit after pruning ({@link OutputProjectionRefit});
 *                            0 skips the refit
 */
public record ZipLmOptions(int calibrationTexts, int hessianTexts, int calibrationSequence, int scoringTexts,
                           double dampening, int generations, int offspring, int maxAttempts, int buckets, long seed,
                           double refitRidge) {

    /**
     * 4000 calibration texts (about 100k tokens of Brown at sequence 64), the first 768 for the Hessians. The refit is
     * what needs the data: it fits up to 1537 × 384 weights per sub-block, and on one BGE-small 1.5x plan its
     * held-out mean cosine was 0.9567 on 768 texts, 0.9605 on 2000 and 0.9637 on 4000 (refitted on the test texts
     * themselves, 0.9968: the refit is limited by how well it generalises, not by what it can fit). Its ridge is 0.3:
     * λ is a multiple of Σ x'x'ᵀ, which grows with the tokens, so the same pull needs a smaller multiple on more
     * texts (on that plan, 4000 texts: 0.9637 at 0.3, 0.9620 at 1; 2000 texts: 0.9612 and 0.9605; below 0.3 it
     * hardly matters). 8000 texts added 0.0015 on another plan for twice the refit time. The Hessians only rank and
     * update units and stay at 768 texts.
     * 16 generations of 8 candidates: on BGE-small at 1.5x this search lowered the calibration loss from 0.166
     * (6 x 4) to 0.147 and raised the held-out mean cosine from 0.948 to 0.953 for 30 s more; more scoring texts
     * (160 instead of 48) changed neither.
     */
    public static ZipLmOptions defaults() {
        return new ZipLmOptions(4000, 768, 64, 48, StructuredObs.DEFAULT_DAMPENING, 16, 8, 5, 2000, 42, 0.3);
    }

    /** {@code texts} calibration texts for the refit and the Hessians alike. */
    public ZipLmOptions withCalibration(int texts, int sequence, int scoring) {
        return new ZipLmOptions(texts, texts, sequence, scoring, dampening, generations, offspring, maxAttempts,
                buckets, seed, refitRidge);
    }

    public ZipLmOptions withSearch(int generationCount, int offspringCount) {
        return new ZipLmOptions(calibrationTexts, hessianTexts, calibrationSequence, scoringTexts, dampening,
                generationCount, offspringCount, maxAttempts, buckets, seed, refitRidge);
    }
}
