package dev.tierserve.compressor.graph.structure;

import java.util.List;

/**
 * What a transformer graph is made of: the residual stream's start, the ordered layers and (for decoders)
 * the final norm and the language-model head. Every edit primitive works on this map; an edit returns a new
 * model, which is mapped again.
 *
 * @param streamStart the residual stream entering layer 0 (after the embeddings)
 * @param embeddings  embedding tables (initializers read by Gather)
 * @param finalNorm   the norm after the last layer (pre-norm decoders), else null
 * @param lmHead      the projection to vocabulary logits, else null
 * @param synthetic   true for the project's randomly initialised decoders: never a quality claim
 */
public record StructureMap(Layout layout, int hiddenSize, String streamStart, List<String> embeddings,
                           List<TransformerLayer> layers, Norm finalNorm, Projection lmHead, boolean synthetic) {

    public enum Layout {
        /** BERT family: the norm follows each residual Add. */
        POST_NORM,
        /** GPT-2 and Llama families: the norm precedes each sub-block. */
        PRE_NORM
    }

    public TransformerLayer layer(int index) {
        if (index < 0 || index >= layers.size()) {
            throw new IndexOutOfBoundsException("layer " + index + " of " + layers.size());
        }
        return layers.get(index);
    }

    public int layerCount() {
        return layers.size();
    }

    public boolean isDecoder() {
        return lmHead != null || layers.stream().anyMatch(l -> l.attention() != null && l.attention().hasCache());
    }
}
