package dev.tierserve.compressor.method.ziplm;

import java.util.List;

/**
 * One attention or MLP sub-block as ZipLM sees it: groups of input rows of its output projection (a KV group
 * of heads, or one MLP channel), the levels it may be pruned to (numbers of remaining groups, 0 = removed),
 * and the OBS trajectory with the weight and error at every level.
 *
 * @param layer         its layer's position in the model being pruned (addresses the graph)
 * @param origin        its layer's index in the original model: names the block across tiers and in reports, where
 *                      an earlier edit that removed a whole layer has moved the positions after it
 * @param headsPerGroup query heads per group (attention; the GQA group size), 1 for MLP channels
 */
public record PrunableBlock(int layer, int origin, boolean attention, int groups, int headsPerGroup,
                            List<Integer> levels, ObsTrajectory trajectory, String outputWeight) {

    /** Heads (attention) or channels (MLP) at a level. */
    public int units(int remainingGroups) {
        return remainingGroups * headsPerGroup;
    }

    public String label() {
        return (attention ? "attention " : "mlp ") + origin;
    }
}
