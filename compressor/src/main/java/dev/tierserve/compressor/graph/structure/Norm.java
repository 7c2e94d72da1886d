package dev.tierserve.compressor.graph.structure;

/**
 * A normalisation, fused ({@code LayerNormalization}) or decomposed into elementwise nodes as the PyTorch
 * exporter writes it.
 *
 * @param input  the normalised tensor
 * @param output the result after scale (and shift)
 * @param bias   null for RMSNorm
 */
public record Norm(Kind kind, String input, String output, String weight, String bias, int nodeCount) {

    public enum Kind { LAYER_NORM, RMS_NORM }
}
