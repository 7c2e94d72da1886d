package dev.tierserve.compressor.graph.structure;

/**
 * The MLP sub-block of one layer: {@code down(act(up(x)))}, or {@code down(act(gate(x)) * up(x))} (SwiGLU).
 *
 * @param input       what up (and gate) read
 * @param gate        null without a gated activation
 * @param activation  the tensor the down projection reads (one channel per intermediate unit)
 * @param residualAdd the Add joining this block to the residual stream (its output tensor)
 */
public record MlpBlock(String input, Projection up, Projection gate, Projection down, String activation,
                       String activationKind, String residualAdd) {

    public int intermediateSize() {
        return up.outFeatures();
    }

    public long parameterCount() {
        return up.parameterCount() + (gate == null ? 0 : gate.parameterCount()) + down.parameterCount();
    }

    public long flopsPerToken() {
        long macs = (long) up.inFeatures() * up.outFeatures() * (gate == null ? 1 : 2)
                + (long) down.inFeatures() * down.outFeatures();
        return 2 * macs;
    }
}
