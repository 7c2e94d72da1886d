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
     * 1500 calibration texts (about 38k tokens of Brown at sequence 64), the first 768 for the Hessians, and an
     * evolutionary search of 32 generations of 8 candidates. Within the 10 minutes three BGE-small tiers may take,
     * the search is worth more than refit data. With 16 generations (spread decaying by 0.8) and 4000 refit texts
     * the 1.5x tier's calibration loss was 0.14 and its held-out mean cosine 0.961; with 32 generations (decaying by
     * 0.9, each budget's search starting from the last one's weights) the loss fell to 0.074 and the cosine rose to
     * 0.978, but three tiers took 10.7 min; with 2000 refit texts, 0.081 and 0.973 in 9.2 min; with 1500 texts and
     * two budgets searched per tier, 0.077 and 0.975 in 9.5 min (repeated: 0.110 and 0.966 in 10.2 min). Started
     * from the blocks' sensitivities instead of all ones, the first search reached 0.046 and 0.982 in 9.0 min; with a
     * tier's later budgets searched locally, 0.047 and 0.981 in 7.1 min.
     * The refit fits up to 1537 × 384 weights per sub-block; on one fixed 1.5x plan its held-out mean cosine was
     * 0.9567 on 768 texts, 0.9605 on 2000 and 0.9620 on 4000 at ridge 1, 0.9612 and 0.9637 at ridge 0.3 (λ is a
     * multiple of Σ x'x'ᵀ, which grows with the tokens, so more texts want a smaller multiple). The Hessians only
     * rank and update units and stay at 768 texts. More scoring texts (160 instead of 48) changed nothing.
     */
    public static ZipLmOptions defaults() {
        return new ZipLmOptions(1500, 768, 64, 48, StructuredObs.DEFAULT_DAMPENING, 32, 8, 5, 2000, 42, 0.3);
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
