package dev.tierserve.compressor.graph.structure;

/**
 * A linear layer as the exporter writes it: {@code MatMul(input, weight[in, out])}, optionally followed by
 * {@code Add(bias[out])}. Nodes are named by their output tensor, which is unique in an ONNX graph.
 *
 * @param input     the activation the MatMul reads
 * @param matMul    the MatMul's output tensor
 * @param weight    the weight initializer, layout [in, out]
 * @param bias      the bias initializer, or null
 * @param output    the projection's result (the bias Add's output, or the MatMul's)
 */
public record Projection(String input, String matMul, String weight, String bias, String output,
                         int inFeatures, int outFeatures) {

    public boolean hasBias() {
        return bias != null;
    }

    public long parameterCount() {
        return (long) inFeatures * outFeatures + (hasBias() ? outFeatures : 0);
    }
}
