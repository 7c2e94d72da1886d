package dev.tierserve.compressor.graph.edit;

/**
 * A per-channel affine map {@code y = x ⊙ scale + shift} on the residual stream: the closed-form stand-in for
 * removed sub-blocks (two element-wise nodes, no matrix product).
 */
public record ChannelAffine(float[] scale, float[] shift) {

    public ChannelAffine {
        if (scale.length != shift.length) {
            throw new IllegalArgumentException("scale has " + scale.length + " channels, shift " + shift.length);
        }
    }

    public static ChannelAffine identity(int width) {
        float[] ones = new float[width];
        java.util.Arrays.fill(ones, 1f);
        return new ChannelAffine(ones, new float[width]);
    }

    public int width() {
        return scale.length;
    }
}
