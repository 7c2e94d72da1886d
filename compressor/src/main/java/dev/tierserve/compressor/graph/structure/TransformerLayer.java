package dev.tierserve.compressor.graph.structure;

/**
 * One transformer layer. Post-norm (BERT): {@code h = N1(x + Attn(x)); y = N2(h + MLP(h))}.
 * Pre-norm (GPT-2, Llama): {@code h = x + Attn(N1(x)); y = h + MLP(N2(h))}.
 *
 * @param index        position among the model's layers (a layer that lost both sub-blocks is gone, and the ones
 *                     after it move up)
 * @param origin       the layer's index in the original model, before any sub-block removal ({@link LayerOrigins})
 * @param input        the residual stream entering the layer
 * @param afterAttention the residual stream between the two sub-blocks (h)
 * @param output       the residual stream leaving the layer (y)
 * @param attentionNorm N1: after the attention residual (post-norm) or before attention (pre-norm)
 * @param mlpNorm      N2, likewise
 */
public record TransformerLayer(int index, int origin, String input, Norm attentionNorm, AttentionBlock attention,
                               String afterAttention, Norm mlpNorm, MlpBlock mlp, String output) {
}
