package dev.tierserve.compressor.method.bonsai;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparseRegressionTest {

    @Test
    void recoversTheCoefficientsOfASparseLinearProblem() {
        Random random = new Random(3);
        int rows = 240;
        int columns = 12;
        double[] truth = new double[columns];
        truth[0] = 2.0;
        truth[3] = -1.5;
        truth[7] = 0.8;
        double[][] x = new double[rows][columns];
        double[] y = new double[rows];
        for (int i = 0; i < rows; i++) {
            y[i] = 3.0 + 0.01 * random.nextGaussian();
            for (int j = 0; j < columns; j++) {
                x[i][j] = random.nextBoolean() ? 1 : 0;
                y[i] += truth[j] * x[i][j];
            }
        }
        SparseRegression.Fit fit = SparseRegression.fitCrossValidated(x, y, 5);
        for (int j = 0; j < columns; j++) {
            assertEquals(truth[j], fit.coefficients()[j], 0.02, "coefficient " + j);
        }
        assertEquals(3.0, fit.intercept(), 0.03);
        assertTrue(fit.rankCorrelation() > 0.95, "held-out rank correlation " + fit.rankCorrelation());
    }

    @Test
    void aLargePenaltyZeroesEveryCoefficientAndTheSmallestKeepsThemAll() {
        double[][] x = {{1, 0}, {0, 1}, {1, 1}, {0, 0}, {1, 0}, {0, 1}};
        double[] y = {1, 2, 3, 0, 1, 2};
        double[] path = SparseRegression.path(x, y);
        SparseRegression.Fit[] fits = SparseRegression.fitPath(x, y, path);
        assertEquals(0, fits[0].coefficients()[0], 1e-9);
        assertEquals(0, fits[0].coefficients()[1], 1e-9);
        assertEquals(1, fits[path.length - 1].coefficients()[0], 0.01);
        assertEquals(2, fits[path.length - 1].coefficients()[1], 0.01);
    }

    @Test
    void spearmanUsesRanksWithTies() {
        assertEquals(1.0, SparseRegression.spearman(new double[] {1, 2, 3, 4}, new double[] {10, 20, 30, 1000}), 1e-12);
        assertEquals(-1.0, SparseRegression.spearman(new double[] {1, 2, 3}, new double[] {3, 2, 1}), 1e-12);
        assertEquals(0.0, SparseRegression.spearman(new double[] {1, 1, 1}, new double[] {3, 2, 1}), 1e-12);
    }
}
