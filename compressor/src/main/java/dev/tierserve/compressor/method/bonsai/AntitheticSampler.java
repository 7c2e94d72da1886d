package dev.tierserve.compressor.method.bonsai;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Sub-models for one Bonsai round as keep-vectors over all units: fixed units are always kept; each pair drops a
 * random fraction of the candidates in its first mask and exactly the others in the second (the complement within
 * the candidate set), which halves the variance of the regression's estimates.
 */
public final class AntitheticSampler {

    private final int units;
    private final List<Integer> candidates;
    private final double dropFraction;
    private final Random random;

    /**
     * @param units        total number of units (keep-vector length)
     * @param candidates   the units this round may drop; every other unit is fixed at 1
     * @param dropFraction the fraction of candidates the first mask of a pair drops
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
        int drop = Math.max(1, (int) Math.round(dropFraction * candidates.size()));
        for (int p = 0; p < pairs; p++) {
            List<Integer> shuffled = new ArrayList<>(candidates);
            Collections.shuffle(shuffled, random);
            boolean[] mask = new boolean[units];
            java.util.Arrays.fill(mask, true);
            boolean[] complement = mask.clone();
            for (int k = 0; k < shuffled.size(); k++) {
                boolean dropped = k < drop;
                mask[shuffled.get(k)] = !dropped;
                complement[shuffled.get(k)] = dropped;
            }
            masks.add(mask);
            masks.add(complement);
        }
        return masks;
    }
}
