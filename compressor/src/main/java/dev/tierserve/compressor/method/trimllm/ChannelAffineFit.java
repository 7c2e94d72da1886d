package dev.tierserve.compressor.method.trimllm;

import dev.tierserve.compressor.graph.edit.ChannelAffine;

/**
 * Per-channel least squares {@code t ≈ a·x + b} over real tokens, accumulated in double. A channel with almost no
 * variance is shrunk towards the identity ({@code a = 1}) by a ridge of 1e-6 of the mean channel variance.
 */
public final class ChannelAffineFit {

    private final int width;
    private final double[] sumX;
    private final double[] sumT;
    private final double[] sumXX;
    private final double[] sumXT;
    private long tokens;

    public ChannelAffineFit(int width) {
        this.width = width;
        this.sumX = new double[width];
        this.sumT = new double[width];
        this.sumXX = new double[width];
        this.sumXT = new double[width];
    }

    /**
     * @param source [tokens, width] row-major, the stream the correction will read
     * @param target the same tokens' stream it should reproduce
     * @param mask   1 for real tokens, 0 for padding (one entry per row)
     */
    public void add(float[] source, float[] target, long[] mask) {
        if (source.length != target.length || source.length != mask.length * width) {
            throw new IllegalArgumentException("source, target and mask disagree: " + source.length + ", "
                    + target.length + ", " + mask.length + " rows of " + width);
        }
        for (int row = 0; row < mask.length; row++) {
            if (mask[row] == 0) {
                continue;
            }
            int offset = row * width;
            for (int c = 0; c < width; c++) {
                double x = source[offset + c];
                double t = target[offset + c];
                sumX[c] += x;
                sumT[c] += t;
                sumXX[c] += x * x;
                sumXT[c] += x * t;
            }
            tokens++;
        }
    }

    public long tokens() {
        return tokens;
    }

    public ChannelAffine solve() {
        if (tokens == 0) {
            throw new IllegalStateException("no calibration tokens");
        }
        double[] variance = new double[width];
        double meanVariance = 0;
        for (int c = 0; c < width; c++) {
            double meanX = sumX[c] / tokens;
            variance[c] = Math.max(0, sumXX[c] / tokens - meanX * meanX);
            meanVariance += variance[c] / width;
        }
        double ridge = 1e-6 * meanVariance + 1e-12;
        float[] scale = new float[width];
        float[] shift = new float[width];
        for (int c = 0; c < width; c++) {
            double meanX = sumX[c] / tokens;
            double meanT = sumT[c] / tokens;
            double covariance = sumXT[c] / tokens - meanX * meanT;
            double a = (covariance + ridge) / (variance[c] + ridge);
            scale[c] = (float) a;
            shift[c] = (float) (meanT - a * meanX);
        }
        return new ChannelAffine(scale, shift);
    }
}
