package dev.tierserve.compressor.method.ziplm;

import org.ejml.data.DMatrixRMaj;
import org.ejml.data.FMatrixRMaj;

import java.util.List;
import java.util.Map;

/**
 * The result of greedy structured OBS on one output projection: the order in which groups (heads or MLP
 * channels) were removed, and the updated weight when a given number of groups remained.
 *
 * @param removalOrder group indices, first removed first
 * @param snapshots    groups remaining → the weight's remaining rows at that point
 * @param errors       groups remaining → loss increase so far relative to the block's output energy
 *                     (Σ saliency / 2 over ‖W₀ᵀX‖²/N), the quantity the dynamic program sums
 */
public record ObsTrajectory(List<Integer> removalOrder, Map<Integer, Snapshot> snapshots,
                            Map<Integer, Double> errors) {

    /**
     * The weight at one level, as it is used: in float, the rows of removed groups left out. A block's trajectory keeps
     * one per level (on BGE-small's MLPs about twenty), so this is most of ZipLM's memory: a quarter or less of the
     * full double matrices.
     *
     * @param rows    the remaining rows, increasing
     * @param values  [rows.length, columns], row-major
     * @param inRows  the full weight's row count
     */
    public record Snapshot(int[] rows, float[] values, int inRows, int columns) {

        /** The remaining rows of {@code weight} [in, out], in float. */
        static Snapshot of(double[] weight, int in, int out, boolean[] remaining) {
            int kept = 0;
            for (boolean r : remaining) {
                kept += r ? 1 : 0;
            }
            int[] rows = new int[kept];
            float[] values = new float[kept * out];
            int at = 0;
            for (int r = 0; r < in; r++) {
                if (remaining[r]) {
                    rows[at] = r;
                    for (int c = 0; c < out; c++) {
                        values[at * out + c] = (float) weight[r * out + c];
                    }
                    at++;
                }
            }
            return new Snapshot(rows, values, in, out);
        }

        static Snapshot of(DMatrixRMaj weight, boolean[] remaining) {
            return of(weight.data, weight.numRows, weight.numCols, remaining);
        }

        /** The full [in, out] weight, removed rows zero. */
        public FMatrixRMaj dense() {
            FMatrixRMaj dense = new FMatrixRMaj(inRows, columns);
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(values, i * columns, dense.data, rows[i] * columns, columns);
            }
            return dense;
        }

        /** The remaining rows only, in increasing row order. */
        public FMatrixRMaj remaining() {
            return FMatrixRMaj.wrap(rows.length, columns, values.clone());
        }

        /** Heap bytes of a snapshot of {@code rows} remaining rows of {@code columns}. */
        static long bytes(long rows, long columns) {
            return rows * columns * Float.BYTES + rows * Integer.BYTES;
        }
    }

    /** The groups still present when {@code remaining} are left, in increasing index order. */
    public int[] keptGroups(int groups, int remaining) {
        boolean[] removed = new boolean[groups];
        for (int i = 0; i < groups - remaining; i++) {
            removed[removalOrder.get(i)] = true;
        }
        return java.util.stream.IntStream.range(0, groups).filter(g -> !removed[g]).toArray();
    }
}
