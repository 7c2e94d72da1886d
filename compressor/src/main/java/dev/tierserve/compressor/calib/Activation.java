package dev.tierserve.compressor.calib;

import dev.tierserve.compressor.data.EncodedBatch;

/**
 * One output of one batch: row-major values and their shape, typically [batch, sequence, width]. Float
 * outputs fill {@code values}; double outputs (a search graph's Gram matrices) fill {@code doubles}.
 */
public record Activation(float[] values, double[] doubles, long[] shape) {

    public Activation(float[] values, long[] shape) {
        this(values, null, shape);
    }

    public int width() {
        return (int) shape[shape.length - 1];
    }

    /** Calls {@code visitor} with the offset of every real (unpadded) token's row of a [batch, sequence, width] value. */
    public void forEachRealToken(EncodedBatch batch, RowVisitor visitor) {
        if (shape.length != 3 || shape[0] != batch.batch() || shape[1] != batch.sequence()) {
            throw new IllegalArgumentException("expected [" + batch.batch() + ", " + batch.sequence() + ", width], got "
                    + java.util.Arrays.toString(shape));
        }
        int width = width();
        long[] mask = batch.attentionMask();
        for (int token = 0; token < mask.length; token++) {
            if (mask[token] != 0) {
                visitor.visit(token * width, token);
            }
        }
    }

    @FunctionalInterface
    public interface RowVisitor {
        void visit(int offset, int token);
    }
}
