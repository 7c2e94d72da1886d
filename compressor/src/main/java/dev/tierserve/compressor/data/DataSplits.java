package dev.tierserve.compressor.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Disjoint calibration, validation and test samples drawn from one shuffled order; the same seed always
 * gives the same splits. Calibration data also trains the evaluation's classifier ("train split").
 */
public record DataSplits(List<TextSample> calibration, List<TextSample> validation, List<TextSample> test) {

    public static DataSplits of(List<TextSample> samples, long seed, int calibration, int validation, int test) {
        int needed = calibration + validation + test;
        if (needed > samples.size()) {
            throw new InputDataException("asked for " + needed + " texts (" + calibration + " calibration or classifier "
                    + "training, " + validation + " validation, " + test + " test) but the data has " + samples.size());
        }
        List<Integer> order = shuffled(samples.size(), seed);
        return new DataSplits(pick(samples, order, 0, calibration),
                pick(samples, order, calibration, calibration + validation),
                pick(samples, order, calibration + validation, needed));
    }

    /**
     * Calibration texts for variants that are evaluated on the test samples of {@code of(samples, seed, train, 0,
     * test)}: up to {@code texts} samples of the same seeded order that are none of those, the first {@code train}
     * of the order, then the ones after the test samples (fewer when the data runs out).
     */
    public static List<TextSample> outsideTest(List<TextSample> samples, long seed, int train, int test, int texts) {
        if (train + test > samples.size()) {
            throw new InputDataException("asked for " + (train + test) + " texts (" + train + " classifier training, "
                    + test + " test) but the data has " + samples.size());
        }
        List<Integer> order = shuffled(samples.size(), seed);
        List<TextSample> picked = new ArrayList<>(pick(samples, order, 0, Math.min(texts, train)));
        int after = train + test;
        picked.addAll(pick(samples, order, after, Math.min(samples.size(), after + Math.max(0, texts - train))));
        return List.copyOf(picked);
    }

    private static List<Integer> shuffled(int size, long seed) {
        List<Integer> order = new ArrayList<>(IntStream.range(0, size).boxed().toList());
        Collections.shuffle(order, new Random(seed));
        return order;
    }

    private static List<TextSample> pick(List<TextSample> samples, List<Integer> order, int from, int to) {
        return order.subList(from, to).stream().map(samples::get).toList();
    }
}
