package dev.tierserve.compressor.latency;

import java.util.Arrays;

/**
 * A distribution-free confidence interval for the median of paired per-round ratios: with n samples, the k-th
 * smallest and the k-th largest bound the median with probability at least {@code 1 - 2 P(Binomial(n, 1/2) < k)},
 * whatever the distribution. No normality is assumed, so a few spiked rounds widen the interval instead of moving it.
 */
record MedianInterval(double median, double low, double high) {

    /** The two-sided level the meter uses: a 90% interval. */
    static final double ALPHA = 0.10;

    static MedianInterval of(double[] samples) {
        double[] sorted = samples.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        int k = rank(n);
        if (k == 0) { // too few samples for any interval at this level: it spans everything
            return new MedianInterval(median, sorted[0], sorted[n - 1]);
        }
        return new MedianInterval(median, sorted[k - 1], sorted[n - k]);
    }

    /** The largest k with 2 P(X < k) <= ALPHA for X ~ Binomial(n, 1/2); 0 if even k = 1 misses the level. */
    private static int rank(int n) {
        double probability = Math.pow(0.5, n); // P(X = 0)
        double below = 0; // P(X < k)
        int k = 0;
        for (int j = 0; j <= n / 2; j++) {
            below += probability; // now P(X < j + 1)
            if (2 * below > ALPHA) {
                break;
            }
            k = j + 1;
            probability = probability * (n - j) / (j + 1);
        }
        return k;
    }
}
