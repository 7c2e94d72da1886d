package dev.tierserve.compressor.method.ziplm;

import java.util.List;

/**
 * ZipLM's dynamic program: every prunable block (one attention or MLP sub-block) picks one level; minimise
 * the summed (weighted) error subject to the summed time fitting the budget. Times are discretised into
 * buckets of {@code budget / buckets}, rounding each level's time up so a solution never exceeds the budget.
 */
public final class BudgetAllocator {

    /** One choice for a block: its time on the runtime and its error. */
    public record Level(double time, double error) {
    }

    private BudgetAllocator() {
    }

    /**
     * @return the chosen level index per block, or null when even the fastest levels exceed the budget
     */
    public static int[] allocate(List<List<Level>> blocks, double[] weights, double budget, int buckets) {
        if (budget <= 0) {
            return null;
        }
        double bucket = budget / buckets;
        int n = blocks.size();
        double[][] best = new double[n + 1][buckets + 1];
        int[][] choice = new int[n + 1][buckets + 1];
        for (double[] row : best) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        java.util.Arrays.fill(best[0], 0.0);
        for (int b = 1; b <= n; b++) {
            List<Level> levels = blocks.get(b - 1);
            for (int t = 0; t <= buckets; t++) {
                for (int l = 0; l < levels.size(); l++) {
                    int cost = (int) Math.ceil(levels.get(l).time() / bucket - 1e-9);
                    if (cost > t || best[b - 1][t - cost] == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    double error = best[b - 1][t - cost] + weights[b - 1] * levels.get(l).error();
                    if (error < best[b][t]) {
                        best[b][t] = error;
                        choice[b][t] = l;
                    }
                }
            }
        }
        if (best[n][buckets] == Double.POSITIVE_INFINITY) {
            return null;
        }
        int[] picks = new int[n];
        int t = buckets;
        for (int b = n; b >= 1; b--) {
            int l = choice[b][t];
            picks[b - 1] = l;
            t -= (int) Math.ceil(blocks.get(b - 1).get(l).time() / bucket - 1e-9);
        }
        return picks;
    }
}
