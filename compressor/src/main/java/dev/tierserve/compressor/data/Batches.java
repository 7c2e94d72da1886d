package dev.tierserve.compressor.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Helpers over lists of tokenised batches. */
public final class Batches {

    private Batches() {
    }

    /** The leading batches holding at least {@code texts} texts (all of them when there are fewer). */
    public static List<EncodedBatch> firstTexts(List<EncodedBatch> batches, int texts) {
        List<EncodedBatch> first = new ArrayList<>();
        int count = 0;
        for (EncodedBatch batch : batches) {
            if (count >= texts) {
                break;
            }
            first.add(batch);
            count += batch.batch();
        }
        return first;
    }

    /**
     * The same texts regrouped by length into batches of {@code batchSize}, each cut to its longest text. Statistics
     * that count unpadded tokens only come out the same, for a fraction of the positions computed: Brown sentences
     * average 26 tokens, and a batch of 16 padded to 64 computes 1024 positions for about 420 tokens.
     */
    public static List<EncodedBatch> packedByLength(List<EncodedBatch> batches, int batchSize) {
        record Row(EncodedBatch batch, int row, int length) {
        }
        List<Row> rows = new ArrayList<>();
        for (EncodedBatch batch : batches) {
            for (int r = 0; r < batch.batch(); r++) {
                int length = 0;
                for (int t = 0; t < batch.sequence(); t++) {
                    if (batch.attentionMask()[r * batch.sequence() + t] != 0) {
                        length = t + 1;
                    }
                }
                rows.add(new Row(batch, r, length));
            }
        }
        rows.sort(Comparator.comparingInt(Row::length));
        List<EncodedBatch> packed = new ArrayList<>();
        for (int from = 0; from < rows.size(); from += batchSize) {
            List<Row> group = rows.subList(from, Math.min(rows.size(), from + batchSize));
            int sequence = Math.max(1, group.get(group.size() - 1).length());
            long[] ids = new long[group.size() * sequence];
            long[] mask = new long[ids.length];
            long[] types = new long[ids.length];
            for (int g = 0; g < group.size(); g++) {
                Row row = group.get(g);
                int offset = row.row() * row.batch().sequence();
                System.arraycopy(row.batch().inputIds(), offset, ids, g * sequence, sequence);
                System.arraycopy(row.batch().attentionMask(), offset, mask, g * sequence, sequence);
                System.arraycopy(row.batch().tokenTypeIds(), offset, types, g * sequence, sequence);
            }
            packed.add(new EncodedBatch(ids, mask, types, group.size(), sequence));
        }
        return packed;
    }
}
