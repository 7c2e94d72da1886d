package dev.tierserve.compressor.method.parallel;

/**
 * Layer-parallelism settings.
 *
 * @param scoringTexts calibration texts that score every window
 * @param sequence     their token length
 */
public record ParallelOptions(int scoringTexts, int sequence) {

    public static ParallelOptions defaults() {
        return new ParallelOptions(64, 64);
    }
}
