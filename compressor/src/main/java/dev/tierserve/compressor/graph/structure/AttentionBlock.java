package dev.tierserve.compressor.graph.structure;

import java.util.List;

/**
 * The attention sub-block of one layer.
 *
 * @param input          what Q, K and V read (the stream for post-norm models, the norm's output for pre-norm)
 * @param query          null when Q, K, V are one packed projection
 * @param packedQkv      the packed projection ([Q | K | V] columns), or null
 * @param output         the output projection; its input is the attention context [.., heads × head dim]
 * @param residualAdd    the Add joining this block to the residual stream (its output tensor)
 * @param shapeConstants every constant element that encodes a head count or width
 * @param pastKey        the layer's KV-cache graph inputs and outputs (decoders with a cache), else null
 */
public record AttentionBlock(String input, Projection query, Projection key, Projection value, Projection packedQkv,
                             Projection output, int heads, int kvHeads, int headDim,
                             List<ShapeConstant> shapeConstants, String residualAdd,
                             String pastKey, String pastValue, String presentKey, String presentValue) {

    public boolean isPacked() {
        return packedQkv != null;
    }

    public boolean hasCache() {
        return pastKey != null;
    }

    /** Query heads sharing one key/value head (1 without grouped-query attention). */
    public int groupSize() {
        return heads / kvHeads;
    }

    public long parameterCount() {
        long projections = isPacked() ? packedQkv.parameterCount()
                : query.parameterCount() + key.parameterCount() + value.parameterCount();
        return projections + output.parameterCount();
    }

    /** Multiply-adds per token of the projections, times two. */
    public long projectionFlopsPerToken() {
        return 2 * (parameterCount() - biasCount());
    }

    /** Score and context products per token for a sequence of {@code seq} keys, times two. */
    public long attentionFlopsPerToken(int seq) {
        return 2L * 2 * heads * headDim * seq;
    }

    private long biasCount() {
        List<Projection> all = isPacked() ? List.of(packedQkv, output) : List.of(query, key, value, output);
        return all.stream().filter(Projection::hasBias).mapToLong(Projection::outFeatures).sum();
    }
}
