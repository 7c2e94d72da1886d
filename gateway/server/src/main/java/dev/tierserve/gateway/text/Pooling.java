package dev.tierserve.gateway.text;

/** How token embeddings become one sentence embedding. */
public enum Pooling {
    /** The first ([CLS]) token's embedding, as BGE specifies. */
    CLS,
    /** The attention-masked mean of the token embeddings, as sentence-transformers' MiniLM uses. */
    MEAN;

    /**
     * Pools rows {@code first} to {@code first + rows} of {@code hidden} ([batch, tokens, width], flattened) into
     * [rows, width], L2-normalising when asked. Padding tokens are skipped, never summed, so that a sentence pools to
     * the same bits however far its batch was padded.
     */
    public float[] pool(float[] hidden, long[][] attentionMask, int first, int rows, int tokens, int width,
                        boolean normalize) {
        float[] pooled = new float[rows * width];
        for (int r = 0; r < rows; r++) {
            int b = first + r;
            int out = r * width;
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
