package dev.tierserve.compressor.method.trimllm;

import dev.tierserve.compressor.method.recovery.OutputProjectionRefit;

/**
 * TrimLLM's settings.
 *
 * @param calibrationTexts    domain texts (the first {@code scoringTexts} of them score drops; all of them fit
 *                            the affine recovery)
 * @param calibrationSequence their token length
 * @param recovery            also build each tier with per-channel affine corrections fitted where blocks went
 * @param refitRidge          ridge of the output-projection refit of each published variant, both forms
 *                            ({@link OutputProjectionRefit}); 0 publishes the dropped model's weights as they are
 */
public record TrimLlmOptions(int calibrationTexts, int calibrationSequence, int scoringTexts, boolean recovery,
                             double refitRidge) {

    public static TrimLlmOptions defaults() {
        return new TrimLlmOptions(128, 64, 64, true, OutputProjectionRefit.DEFAULT_RIDGE);
    }

    public TrimLlmOptions withCalibration(int texts, int sequence, int scoring) {
        return new TrimLlmOptions(texts, sequence, scoring, recovery, refitRidge);
    }

    public TrimLlmOptions withRecovery(boolean value) {
        return new TrimLlmOptions(calibrationTexts, calibrationSequence, scoringTexts, value, refitRidge);
    }

    public TrimLlmOptions withRefitRidge(double ridge) {
        return new TrimLlmOptions(calibrationTexts, calibrationSequence, scoringTexts, recovery, ridge);
    }
}
