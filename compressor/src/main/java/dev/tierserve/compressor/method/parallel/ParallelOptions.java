package dev.tierserve.compressor.method.parallel;

/**
 * Layer-parallelism settings.
 *
 * @param scoringTexts calibration texts that score every window
 * @param sequence     their token length
 * @param warmupRuns   latency warm-up runs per model for every width
 * @param rounds       interleaved latency rounds for every width
 */
public record ParallelOptions(int scoringTexts, int sequence, int warmupRuns, int rounds) {

    public static ParallelOptions defaults() {
        return new ParallelOptions(64, 64, 5, 20);
    }
}
