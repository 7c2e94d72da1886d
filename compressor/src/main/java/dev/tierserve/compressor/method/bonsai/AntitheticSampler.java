package dev.tierserve.compressor.method.bonsai;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Sub-models for one Bonsai round as keep-vectors over all units: fixed units are always kept; the first mask of a
 * pair drops each candidate independently with the drop probability, the second drops exactly the others (the
 * complement within the candidate set), which lowers the variance of the regression's estimates. Independent draws
 * (not a fixed count) keep the number of kept units varying, so the regression can tell each unit from the
 * intercept.
 */
public final class AntitheticSampler {

    private final int units;
    private final List<Integer> candidates;
    private final double dropFraction;
    private final Random random;

    /**
     * @param units        total number of units (keep-vector length)
     * @param candidates   the units this round may drop; every other unit is fixed at 1
     * @param dropFraction the probability that the first mask of a pair drops a candidate
     */
    public AntitheticSampler(int units, List<Integer> candidates, double dropFraction, long seed) {
        if (dropFraction <= 0 || dropFraction >= 1) {
            throw new IllegalArgumentException("drop fraction must be in (0, 1): " + dropFraction);
        }
        this.units = units;
        this.candidates = List.copyOf(candidates);
        this.dropFraction = dropFraction;
        this.random = new Random(seed);
    }

    /** {@code pairs} antithetic pairs: element 2k is a mask, 2k+1 its complement over the candidates. */
    public List<boolean[]> sample(int pairs) {
        List<boolean[]> masks = new ArrayList<>();
        for (int p = 0; p < pairs; p++) {
            boolean[] mask = new boolean[units];
            Arrays.fill(mask, true);
            boolean[] complement = mask.clone();
            for (int unit : candidates) {
                boolean dropped = random.nextDouble() < dropFraction;
                mask[unit] = !dropped;
                complement[unit] = dropped;
            }
            masks.add(mask);
            masks.add(complement);
        }
        return masks;
    }
}
