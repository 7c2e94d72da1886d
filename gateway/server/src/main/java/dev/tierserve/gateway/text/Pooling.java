package dev.tierserve.gateway.text;

/** How token embeddings become one sentence embedding. */
public enum Pooling {
    /** The first ([CLS]) token's embedding, as BGE specifies. */
    CLS,
    /** The attention-masked mean of the token embeddings, as sentence-transformers' MiniLM uses. */
    MEAN;

    /**
     * Pools {@code hidden} ([batch, tokens, width], flattened) into [batch, width], L2-normalising when asked.
     */
    public float[] pool(float[] hidden, long[][] attentionMask, int batch, int tokens, int width, boolean normalize) {
        float[] pooled = new float[batch * width];
        for (int b = 0; b < batch; b++) {
            int out = b * width;
            if (this == CLS) {
                System.arraycopy(hidden, b * tokens * width, pooled, out, width);
            } else {
                int counted = 0;
                for (int t = 0; t < tokens; t++) {
                    if (attentionMask[b][t] == 0) {
                        continue;
                    }
                    counted++;
                    int in = (b * tokens + t) * width;
                    for (int d = 0; d < width; d++) {
                        pooled[out + d] += hidden[in + d];
                    }
                }
                for (int d = 0; d < width; d++) {
                    pooled[out + d] /= Math.max(counted, 1);
                }
            }
            if (normalize) {
                double norm = 0;
                for (int d = 0; d < width; d++) {
                    norm += (double) pooled[out + d] * pooled[out + d];
                }
                float scale = (float) (1.0 / Math.max(Math.sqrt(norm), 1e-12));
                for (int d = 0; d < width; d++) {
                    pooled[out + d] *= scale;
                }
            }
        }
        return pooled;
    }
}
