package dev.tierserve.compressor.method.ziplm;

import org.ejml.data.DMatrixRMaj;

import java.util.List;
import java.util.Map;

/**
 * The result of greedy structured OBS on one output projection: the order in which groups (heads or MLP
 * channels) were removed, and the updated weight when a given number of groups remained.
 *
 * @param removalOrder group indices, first removed first
 * @param snapshots    groups remaining → weight [in, out] at that point (removed rows are zero)
 * @param errors       groups remaining → loss increase so far relative to the block's output energy
 *                     (Σ saliency / 2 over ‖W₀ᵀX‖²/N), the quantity the dynamic program sums
 */
public record ObsTrajectory(List<Integer> removalOrder, Map<Integer, DMatrixRMaj> snapshots,
                            Map<Integer, Double> errors) {

    /** The groups still present when {@code remaining} are left, in increasing index order. */
    public int[] keptGroups(int groups, int remaining) {
        boolean[] removed = new boolean[groups];
        for (int i = 0; i < groups - remaining; i++) {
            removed[removalOrder.get(i)] = true;
        }
        return java.util.stream.IntStream.range(0, groups).filter(g -> !removed[g]).toArray();
    }
}
