package dev.tierserve.compressor.method.ziplm;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StructuredObsTest {

    /** in = 12 inputs in 4 groups of 3 ("heads"), out = 5, N = 200 samples with correlated inputs. */
    @Test
    void saliencyPredictsTheExactLossIncreaseAndTheUpdateBeatsPlainRemoval() {
        Random random = new Random(1);
        int in = 12;
        int out = 5;
        int samples = 200;
        DMatrixRMaj x = new DMatrixRMaj(in, samples);
        for (int s = 0; s < samples; s++) {
            double shared = random.nextGaussian();
            for (int i = 0; i < in; i++) {
                x.set(i, s, random.nextGaussian() + 0.7 * shared * (i % 3));
            }
        }
        DMatrixRMaj w = new DMatrixRMaj(in, out);
        for (int i = 0; i < w.data.length; i++) {
            w.data[i] = random.nextGaussian();
        }
        DMatrixRMaj hessian = new DMatrixRMaj(in, in);
        CommonOps_DDRM.multTransB(x, x, hessian);
        CommonOps_DDRM.scale(2.0 / samples, hessian);
        List<int[]> groups = new ArrayList<>();
        for (int g = 0; g < 4; g++) {
            groups.add(new int[] {3 * g, 3 * g + 1, 3 * g + 2});
        }

        // Undampened, so the quadratic model is exactly the measured loss.
        ObsTrajectory trajectory = StructuredObs.prune(w, hessian, groups, Set.of(4, 3, 2), 0.0);
        DMatrixRMaj afterOne = weight(trajectory, 3);
        int removed = trajectory.removalOrder().get(0);
        double measured = lossIncrease(w, afterOne, x);
        DMatrixRMaj inverse = StructuredObs.dampenedInverse(hessian, 0.0);
        double saliency = saliencyOf(w, inverse, groups.get(removed));
        // Snapshots are kept in float: the measured increase carries its rounding.
        assertEquals(measured, saliency / 2, 1e-4 * Math.max(1, measured));
        for (int row : groups.get(removed)) {
            for (int c = 0; c < out; c++) {
                assertEquals(0.0, afterOne.get(row, c));
            }
        }
        // The chosen group is the cheapest one.
        for (int g = 0; g < 4; g++) {
            assertTrue(saliencyOf(w, inverse, groups.get(g)) >= saliency - 1e-12);
        }
        // Plain removal (zeroing the rows, no update) costs more.
        DMatrixRMaj zeroed = w.copy();
        for (int row : groups.get(removed)) {
            for (int c = 0; c < out; c++) {
                zeroed.set(row, c, 0);
            }
        }
        assertTrue(lossIncrease(w, zeroed, x) > measured * 1.01, "the OBS update compensates the removal");

        // Two steps: the recorded error is the sum of both exact increases, relative to the output energy.
        double energy = StructuredObs.outputEnergy(w, hessian);
        assertEquals(lossIncrease(w, weight(trajectory, 2), x) / energy, trajectory.errors().get(2), 1e-5);
        assertEquals(0.0, trajectory.errors().get(4));
    }

    @Test
    void theSingleRowFastPathFollowsTheGeneralAlgorithm() {
        Random random = new Random(3);
        int in = 20;
        int out = 6;
        DMatrixRMaj x = new DMatrixRMaj(in, 100);
        for (int i = 0; i < x.data.length; i++) {
            x.data[i] = random.nextGaussian();
        }
        DMatrixRMaj hessian = new DMatrixRMaj(in, in);
        CommonOps_DDRM.multTransB(x, x, hessian);
        CommonOps_DDRM.scale(2.0 / 100, hessian);
        DMatrixRMaj w = new DMatrixRMaj(in, out);
        for (int i = 0; i < w.data.length; i++) {
            w.data[i] = random.nextGaussian();
        }
        List<int[]> rows = new ArrayList<>();
        for (int r = 0; r < in; r++) {
            rows.add(new int[] {r});
        }
        Set<Integer> levels = Set.of(20, 15, 9, 3, 0);
        ObsTrajectory fast = StructuredObs.pruneRows(w, hessian, rows, levels, 1e-2);
        ObsTrajectory general = StructuredObs.pruneGroups(w, hessian, rows, levels, 1e-2);
        assertEquals(general.removalOrder(), fast.removalOrder());
        for (int level : levels) {
            assertEquals(general.errors().get(level), fast.errors().get(level), 1e-10);
            for (int i = 0; i < in * out; i++) {
                assertEquals(general.snapshots().get(level).dense().data[i], fast.snapshots().get(level).dense().data[i],
                        1e-6);
            }
        }
    }

    /** The trajectory's weight at {@code level}, in double, removed rows zero. */
    private static DMatrixRMaj weight(ObsTrajectory trajectory, int level) {
        float[] values = trajectory.snapshots().get(level).dense().data;
        ObsTrajectory.Snapshot snapshot = trajectory.snapshots().get(level);
        DMatrixRMaj weight = new DMatrixRMaj(snapshot.inRows(), snapshot.columns());
        for (int i = 0; i < values.length; i++) {
            weight.data[i] = values[i];
        }
        return weight;
    }

    private static double saliencyOf(DMatrixRMaj w, DMatrixRMaj inverse, int[] rows) {
        DMatrixRMaj block = new DMatrixRMaj(rows.length, rows.length);
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < rows.length; j++) {
                block.set(i, j, inverse.get(rows[i], rows[j]));
            }
        }
        CommonOps_DDRM.invert(block);
        return StructuredObs.saliency(w, rows, block);
    }

    /** ‖(W' − W)ᵀ X‖² / N. */
    private static double lossIncrease(DMatrixRMaj w, DMatrixRMaj updated, DMatrixRMaj x) {
        DMatrixRMaj delta = new DMatrixRMaj(w.numRows, w.numCols);
        CommonOps_DDRM.subtract(updated, w, delta);
        DMatrixRMaj y = new DMatrixRMaj(w.numCols, x.numCols);
        CommonOps_DDRM.multTransA(delta, x, y);
        double sum = 0;
        for (double v : y.data) {
            sum += v * v;
        }
        return sum / x.numCols;
    }
}
