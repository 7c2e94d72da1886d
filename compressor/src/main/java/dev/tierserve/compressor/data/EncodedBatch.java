package dev.tierserve.compressor.data;

/**
 * Token ids, attention mask and token types of {@code batch} texts padded (or truncated) to {@code sequence}
 * tokens, row-major [batch, sequence].
 */
public record EncodedBatch(long[] inputIds, long[] attentionMask, long[] tokenTypeIds, int batch, int sequence) {

    public long[] shape() {
        return new long[] {batch, sequence};
    }

    /** Positions that are real tokens, not padding. */
    public int realTokens() {
        int count = 0;
        for (long m : attentionMask) {
            count += (int) m;
        }
        return count;
    }
}
