package dev.tierserve.compressor.method.ziplm;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Greedy structured Optimal Brain Surgeon on a projection W [in, out] with Hessian H = 2/N Σ x xᵀ of its
 * inputs (ZipLM). Removing the group M of input rows costs the saliency
 * {@code ρ(M) = Σ_outputs W_Mᵀ [(H⁻¹)_MM]⁻¹ W_M}; the cheapest goes, the remaining rows absorb it,
 * {@code ΔW = −(H⁻¹)_{:,M} [(H⁻¹)_MM]⁻¹ W_M}, and H⁻¹ is updated to the Hessian inverse with M removed,
 * {@code H⁻¹ ← H⁻¹ − (H⁻¹)_{:,M} [(H⁻¹)_MM]⁻¹ (H⁻¹)_{M,:}}. For a quadratic loss each step is exact: the
 * loss ‖(W' − W)ᵀX‖²/N grows by ρ/2.
 */
public final class StructuredObs {

    /** ZipLM's dampening: λ = 1e-2 · mean(diag H), added to the diagonal before inverting. */
    public static final double DEFAULT_DAMPENING = 1e-2;

    private StructuredObs() {
    }

    /**
     * @param weight     [in, out], not modified
     * @param hessian    [in, in], not modified
     * @param groups     disjoint sets of input rows (a head's head_dim rows, or one MLP channel)
     * @param snapshotAt numbers of remaining groups at which to keep a copy of the weight
     */
    public static ObsTrajectory prune(DMatrixRMaj weight, DMatrixRMaj hessian, List<int[]> groups,
                                      Set<Integer> snapshotAt, double dampening) {
        if (groups.size() == weight.numRows && groups.stream().allMatch(g -> g.length == 1)) {
            return pruneRows(weight, hessian, groups, snapshotAt, dampening);
        }
        return pruneGroups(weight, hessian, groups, snapshotAt, dampening);
    }

    /** The general form, for groups of any size. */
    static ObsTrajectory pruneGroups(DMatrixRMaj weight, DMatrixRMaj hessian, List<int[]> groups,
                                     Set<Integer> snapshotAt, double dampening) {
        int in = weight.numRows;
        DMatrixRMaj w = weight.copy();
        DMatrixRMaj inverse = dampenedInverse(hessian, dampening);
        double energy = outputEnergy(weight, hessian);

        Set<Integer> remaining = new LinkedHashSet<>();
        for (int g = 0; g < groups.size(); g++) {
            remaining.add(g);
        }
        // Rows of removed groups are zero in W and in H⁻¹ from then on: updates skip them.
        boolean[] active = new boolean[in];
        java.util.Arrays.fill(active, true);
        List<Integer> order = new ArrayList<>();
        Map<Integer, ObsTrajectory.Snapshot> snapshots = new HashMap<>();
        Map<Integer, Double> errors = new HashMap<>();
        double loss = 0;
        record(snapshotAt, remaining.size(), w, active, loss, energy, snapshots, errors);
        while (!remaining.isEmpty()) {
            int best = -1;
            double bestSaliency = Double.POSITIVE_INFINITY;
            DMatrixRMaj bestBlockInverse = null;
            for (int g : remaining) {
                int[] rows = groups.get(g);
                DMatrixRMaj blockInverse = inverseBlock(inverse, rows);
                double saliency = saliency(w, rows, blockInverse);
                if (saliency < bestSaliency) {
                    bestSaliency = saliency;
                    best = g;
                    bestBlockInverse = blockInverse;
                }
            }
            remove(w, inverse, groups.get(best), bestBlockInverse, activeRows(active));
            for (int row : groups.get(best)) {
                active[row] = false;
            }
            remaining.remove(best);
            order.add(best);
            loss += Math.max(0, bestSaliency) / 2;
            record(snapshotAt, remaining.size(), w, active, loss, energy, snapshots, errors);
        }
        return new ObsTrajectory(List.copyOf(order), snapshots, errors);
    }

    /**
     * The same algorithm for groups of one row (MLP channels), written for speed: ρ(i) = ‖W_i‖² / (H⁻¹)_ii,
     * rank-one updates in contiguous loops (removed rows and columns of H⁻¹ are zero, so they can stay in).
     */
    static ObsTrajectory pruneRows(DMatrixRMaj weight, DMatrixRMaj hessian, List<int[]> groups,
                                           Set<Integer> snapshotAt, double dampening) {
        int in = weight.numRows;
        int out = weight.numCols;
        double[] w = weight.copy().data;
        double[] inverse = dampenedInverse(hessian, dampening).data;
        double energy = outputEnergy(weight, hessian);
        int[] rowOfGroup = groups.stream().mapToInt(g -> g[0]).toArray();
        int[] groupOfRow = new int[in];
        for (int g = 0; g < rowOfGroup.length; g++) {
            groupOfRow[rowOfGroup[g]] = g;
        }
        double[] norms = new double[in];
        for (int r = 0; r < in; r++) {
            norms[r] = squaredNorm(w, r * out, out);
        }
        boolean[] alive = new boolean[in];
        java.util.Arrays.fill(alive, true);
        List<Integer> order = new ArrayList<>();
        Map<Integer, ObsTrajectory.Snapshot> snapshots = new HashMap<>();
        Map<Integer, Double> errors = new HashMap<>();
        double loss = 0;
        recordRows(snapshotAt, in, w, in, out, alive, loss, energy, snapshots, errors);
        double[] rowM = new double[in];
        double[] weightM = new double[out];
        for (int remaining = in; remaining > 0; remaining--) {
            int m = -1;
            double best = Double.POSITIVE_INFINITY;
            for (int r = 0; r < in; r++) {
                if (alive[r]) {
                    double saliency = norms[r] / inverse[r * in + r];
                    if (saliency < best) {
                        best = saliency;
                        m = r;
                    }
                }
            }
            double pivot = inverse[m * in + m];
            System.arraycopy(inverse, m * in, rowM, 0, in);
            System.arraycopy(w, m * out, weightM, 0, out);
            for (int r = 0; r < in; r++) {
                double factor = rowM[r] / pivot;
                if (!alive[r] || factor == 0) {
                    continue;
                }
                int wOffset = r * out;
                for (int c = 0; c < out; c++) {
                    w[wOffset + c] -= factor * weightM[c];
                }
                norms[r] = squaredNorm(w, wOffset, out);
                int hOffset = r * in;
                for (int c = 0; c < in; c++) {
                    inverse[hOffset + c] -= factor * rowM[c];
                }
            }
            alive[m] = false;
            java.util.Arrays.fill(w, m * out, (m + 1) * out, 0.0);
            for (int c = 0; c < in; c++) {
                inverse[m * in + c] = 0;
                inverse[c * in + m] = 0;
            }
            order.add(groupOfRow[m]);
            loss += Math.max(0, best) / 2;
            recordRows(snapshotAt, remaining - 1, w, in, out, alive, loss, energy, snapshots, errors);
        }
        return new ObsTrajectory(List.copyOf(order), snapshots, errors);
    }

    private static double squaredNorm(double[] values, int offset, int length) {
        double sum = 0;
        for (int i = offset; i < offset + length; i++) {
            sum += values[i] * values[i];
        }
        return sum;
    }

    private static void recordRows(Set<Integer> snapshotAt, int remaining, double[] w, int in, int out, boolean[] alive,
                                   double loss, double energy, Map<Integer, ObsTrajectory.Snapshot> snapshots,
                                   Map<Integer, Double> errors) {
        if (snapshotAt.contains(remaining)) {
            snapshots.put(remaining, ObsTrajectory.Snapshot.of(w, in, out, alive));
            errors.put(remaining, energy > 0 ? loss / energy : 0);
        }
    }

    /** ρ(M) = tr(W_Mᵀ [(H⁻¹)_MM]⁻¹ W_M). */
    static double saliency(DMatrixRMaj w, int[] rows, DMatrixRMaj blockInverse) {
        int out = w.numCols;
        double total = 0;
        for (int c = 0; c < out; c++) {
            for (int i = 0; i < rows.length; i++) {
                double wi = w.get(rows[i], c);
                if (wi == 0) {
                    continue;
                }
                double s = 0;
                for (int j = 0; j < rows.length; j++) {
                    s += blockInverse.get(i, j) * w.get(rows[j], c);
                }
                total += wi * s;
            }
        }
        return total;
    }

    /** [(H⁻¹)_MM]⁻¹. */
    private static DMatrixRMaj inverseBlock(DMatrixRMaj inverse, int[] rows) {
        DMatrixRMaj block = new DMatrixRMaj(rows.length, rows.length);
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < rows.length; j++) {
                block.set(i, j, inverse.get(rows[i], rows[j]));
            }
        }
        if (rows.length == 1) {
            block.set(0, 0, 1.0 / block.get(0, 0));
            return block;
        }
        if (!CommonOps_DDRM.invert(block)) {
            throw new IllegalStateException("singular Hessian block");
        }
        return block;
    }

    private static int[] activeRows(boolean[] active) {
        return IntStream.range(0, active.length).filter(i -> active[i]).toArray();
    }

    private static void remove(DMatrixRMaj w, DMatrixRMaj inverse, int[] rows, DMatrixRMaj blockInverse, int[] live) {
        int k = rows.length;
        int out = w.numCols;
        int in = inverse.numRows;
        // A = (H⁻¹)_{:,M} [(H⁻¹)_MM]⁻¹   [in, k], non-zero only on live rows
        double[] a = new double[in * k];
        for (int r : live) {
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (int i = 0; i < k; i++) {
                    s += inverse.get(r, rows[i]) * blockInverse.get(i, j);
                }
                a[r * k + j] = s;
            }
        }
        // W ← W − A W_M
        double[] wm = new double[k * out];
        for (int i = 0; i < k; i++) {
            System.arraycopy(w.data, rows[i] * out, wm, i * out, out);
        }
        for (int r : live) {
            int rowOffset = r * out;
            for (int j = 0; j < k; j++) {
                double factor = a[r * k + j];
                if (factor == 0) {
                    continue;
                }
                int mOffset = j * out;
                for (int c = 0; c < out; c++) {
                    w.data[rowOffset + c] -= factor * wm[mOffset + c];
                }
            }
        }
        // H⁻¹ ← H⁻¹ − A (H⁻¹)_{M,:}, on live rows and columns only
        double[] hm = new double[k * in];
        for (int i = 0; i < k; i++) {
            System.arraycopy(inverse.data, rows[i] * in, hm, i * in, in);
        }
        for (int r : live) {
            int rowOffset = r * in;
            for (int j = 0; j < k; j++) {
                double factor = a[r * k + j];
                if (factor == 0) {
                    continue;
                }
                int mOffset = j * in;
                for (int c : live) {
                    inverse.data[rowOffset + c] -= factor * hm[mOffset + c];
                }
            }
        }
        for (int row : rows) {
            for (int c = 0; c < in; c++) {
                inverse.data[row * in + c] = 0;
                inverse.data[c * in + row] = 0;
            }
        }
        for (int row : rows) {
            // Exactly zero, not rounding residue: the group is gone.
            java.util.Arrays.fill(w.data, row * out, (row + 1) * out, 0.0);
        }
    }

    static DMatrixRMaj dampenedInverse(DMatrixRMaj hessian, double dampening) {
        DMatrixRMaj damped = hessian.copy();
        int n = damped.numRows;
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += damped.get(i, i);
        }
        mean /= n;
        double lambda = dampening * (mean > 0 ? mean : 1);
        for (int i = 0; i < n; i++) {
            damped.add(i, i, lambda);
        }
        DMatrixRMaj inverse = new DMatrixRMaj(n, n);
        if (!CommonOps_DDRM.invertSPD(damped, inverse)) {
            throw new IllegalStateException("the dampened Hessian is not positive definite");
        }
        return inverse;
    }

    /** ‖W₀ᵀX‖²/N = tr(W₀ᵀ H W₀) / 2. */
    static double outputEnergy(DMatrixRMaj weight, DMatrixRMaj hessian) {
        DMatrixRMaj hw = new DMatrixRMaj(hessian.numRows, weight.numCols);
        CommonOps_DDRM.mult(hessian, weight, hw);
        double trace = 0;
        for (int r = 0; r < weight.numRows; r++) {
            for (int c = 0; c < weight.numCols; c++) {
                trace += weight.get(r, c) * hw.get(r, c);
            }
        }
        return trace / 2;
    }

    private static void record(Set<Integer> snapshotAt, int remaining, DMatrixRMaj w, boolean[] active, double loss,
                               double energy, Map<Integer, ObsTrajectory.Snapshot> snapshots,
                               Map<Integer, Double> errors) {
        if (snapshotAt.contains(remaining)) {
            snapshots.put(remaining, ObsTrajectory.Snapshot.of(w, active));
            errors.put(remaining, energy > 0 ? loss / energy : 0);
        }
    }
}
