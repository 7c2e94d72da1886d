package dev.tierserve.compressor.data;

import java.util.ArrayList;
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
}
