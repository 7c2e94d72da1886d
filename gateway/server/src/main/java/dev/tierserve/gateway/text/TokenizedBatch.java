package dev.tierserve.gateway.text;

import ai.djl.huggingface.tokenizers.Encoding;

/**
 * Sentences tokenised and right-padded to the longest one: the three [batch, tokens] inputs of a BERT encoder.
 */
public record TokenizedBatch(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds, int tokens) {

    public static TokenizedBatch pad(Encoding[] encodings) {
        int longest = 0;
        for (Encoding encoding : encodings) {
            longest = Math.max(longest, encoding.getIds().length);
        }
        long[][] ids = new long[encodings.length][longest];
        long[][] mask = new long[encodings.length][longest];
        long[][] types = new long[encodings.length][longest];
        for (int i = 0; i < encodings.length; i++) {
            // Padding stays 0: the [PAD] id of BERT vocabularies, masked out by attention_mask.
            System.arraycopy(encodings[i].getIds(), 0, ids[i], 0, encodings[i].getIds().length);
            System.arraycopy(encodings[i].getAttentionMask(), 0, mask[i], 0, encodings[i].getAttentionMask().length);
            System.arraycopy(encodings[i].getTypeIds(), 0, types[i], 0, encodings[i].getTypeIds().length);
        }
        return new TokenizedBatch(ids, mask, types, longest);
    }

    public int batch() {
        return inputIds.length;
    }
}
