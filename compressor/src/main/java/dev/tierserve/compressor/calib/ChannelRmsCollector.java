package dev.tierserve.compressor.calib;

import dev.tierserve.compressor.data.EncodedBatch;

import java.util.Map;
import java.util.Set;

/** Root-mean-square of every channel of one activation over real tokens (Wanda-style priors). */
public final class ChannelRmsCollector implements ActivationCollector {

    private final String output;
    private double[] sumSquares;
    private long tokens;

    public ChannelRmsCollector(String output) {
        this.output = output;
    }

    @Override
    public Set<String> outputs() {
        return Set.of(output);
    }

    @Override
    public void accept(Map<String, Activation> outputs, EncodedBatch batch) {
        Activation activation = outputs.get(output);
        int width = activation.width();
        if (sumSquares == null) {
            sumSquares = new double[width];
        }
        float[] values = activation.values();
        activation.forEachRealToken(batch, (offset, token) -> {
            for (int c = 0; c < width; c++) {
                double v = values[offset + c];
                sumSquares[c] += v * v;
            }
        });
        tokens += batch.realTokens();
    }

    public double[] rms() {
        double[] rms = new double[sumSquares.length];
        for (int c = 0; c < rms.length; c++) {
            rms[c] = Math.sqrt(sumSquares[c] / tokens);
        }
        return rms;
    }
}
