package dev.tierserve.compressor.method.trimllm;

/**
 * TrimLLM's settings.
 *
 * @param calibrationTexts    domain texts (the first {@code scoringTexts} of them score drops; all of them fit
 *                            the affine recovery)
 * @param calibrationSequence their token length
 * @param recovery            also build each tier with per-channel affine corrections fitted where blocks went
 * @param warmupRuns          latency warm-up runs per model at every step
 * @param rounds              interleaved latency rounds per step
 */
public record TrimLlmOptions(int calibrationTexts, int calibrationSequence, int scoringTexts, boolean recovery,
                             int warmupRuns, int rounds) {

    public static TrimLlmOptions defaults() {
        return new TrimLlmOptions(128, 64, 64, true, 5, 20);
    }

    public TrimLlmOptions withCalibration(int texts, int sequence, int scoring) {
        return new TrimLlmOptions(texts, sequence, scoring, recovery, warmupRuns, rounds);
    }

    public TrimLlmOptions withLatencyRuns(int warmup, int measured) {
        return new TrimLlmOptions(calibrationTexts, calibrationSequence, scoringTexts, recovery, warmup, measured);
    }
}
