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
            throw new IllegalArgumentException("asked for " + needed + " samples but the data has " + samples.size());
        }
        List<Integer> order = new ArrayList<>(IntStream.range(0, samples.size()).boxed().toList());
        Collections.shuffle(order, new Random(seed));
        return new DataSplits(pick(samples, order, 0, calibration),
                pick(samples, order, calibration, calibration + validation),
                pick(samples, order, calibration + validation, needed));
    }

    private static List<TextSample> pick(List<TextSample> samples, List<Integer> order, int from, int to) {
        return order.subList(from, to).stream().map(samples::get).toList();
    }
}
