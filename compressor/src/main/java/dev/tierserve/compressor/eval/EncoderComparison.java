package dev.tierserve.compressor.eval;

import dev.tierserve.store.EncoderQuality;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/** Compares a variant encoder's test embeddings with its parent's: the figures of {@link EncoderQuality}. */
public final class EncoderComparison {

    public static final int NEIGHBOURS = 10;

    private EncoderComparison() {
    }

    /**
     * Embeddings are one row per test text, in the same order for parent and variant. Every metric but the
     * classifier's is scale-invariant; the classifier sees the embeddings as given (L2-normalised or not).
     */
    public static EncoderQuality compare(float[][] parent, float[][] variant, RidgeClassifier classifier,
                                         List<String> testLabels) {
        if (parent.length != variant.length) {
            throw new IllegalArgumentException("parent and variant embedded different numbers of texts");
        }
        double[] cosines = new double[parent.length];
        for (int i = 0; i < parent.length; i++) {
            cosines[i] = cosine(parent[i], variant[i]);
        }
        double mean = Arrays.stream(cosines).average().orElse(Double.NaN);
        double[] sorted = cosines.clone();
        Arrays.sort(sorted);
        double p5 = sorted[(int) Math.floor(0.05 * (sorted.length - 1))];
        double agreement = retrievalAgreement(parent, variant);
        Double variantAccuracy = classifier == null ? null : classifier.accuracy(variant, testLabels);
        Double parentAccuracy = classifier == null ? null : classifier.accuracy(parent, testLabels);
        return new EncoderQuality(mean, p5, agreement, variantAccuracy, parentAccuracy);
    }

    static double retrievalAgreement(float[][] parent, float[][] variant) {
        int k = Math.min(NEIGHBOURS, parent.length - 1);
        double total = 0;
        for (int i = 0; i < parent.length; i++) {
            Set<Integer> a = topNeighbours(parent, i, k);
            Set<Integer> b = topNeighbours(variant, i, k);
            a.retainAll(b);
            total += (double) a.size() / k;
        }
        return total / parent.length;
    }

    private static Set<Integer> topNeighbours(float[][] embeddings, int query, int k) {
        double[] similarity = new double[embeddings.length];
        for (int j = 0; j < embeddings.length; j++) {
            similarity[j] = j == query ? Double.NEGATIVE_INFINITY : cosine(embeddings[query], embeddings[j]);
        }
        // Ties broken by index, so identical embeddings give identical neighbour sets.
        return new HashSet<>(IntStream.range(0, embeddings.length).boxed()
                .sorted((x, y) -> similarity[x] != similarity[y] ? Double.compare(similarity[y], similarity[x])
                        : Integer.compare(x, y))
                .limit(k).toList());
    }

    /** In double, so that identical embeddings give exactly 1 up to rounding of the last bit. */
    static double cosine(float[] a, float[] b) {
        double norms = Math.sqrt(dot(a, a)) * Math.sqrt(dot(b, b));
        return norms == 0 ? 0 : Math.min(1.0, dot(a, b) / norms);
    }

    static double dot(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += (double) a[i] * b[i];
        }
        return sum;
    }
}
