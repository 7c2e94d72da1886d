package dev.tierserve.compressor.method.bonsai;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Lasso {@code min (1/2n)‖y − b − Xβ‖² + λ‖β‖₁} by cyclic coordinate descent on standardised columns, along a
 * geometric λ path with warm starts. The penalty is chosen by K-fold cross-validation maximising the Spearman rank
 * correlation between held-out predictions and targets (Bonsai ranks units, so rank agreement is what matters);
 * among penalties within 0.002 of the best correlation, the lowest held-out squared error wins.
 */
public final class SparseRegression {

    private static final int PATH_LENGTH = 30;
    private static final double PATH_RATIO = 1e-3;
    private static final int MAX_SWEEPS = 500;
    private static final double TOLERANCE = 1e-7;

    private SparseRegression() {
    }

    /** A fitted model in the original units: {@code y ≈ intercept + Σ coefficients[j]·x[j]}. */
    public record Fit(double intercept, double[] coefficients, double lambda, double rankCorrelation) {

        public double predict(double[] row) {
            double value = intercept;
            for (int j = 0; j < row.length; j++) {
                value += coefficients[j] * row[j];
            }
            return value;
        }
    }

    /** Cross-validates the penalty over {@code folds} folds (rows assigned round-robin), then refits on all rows. */
    public static Fit fitCrossValidated(double[][] x, double[] y, int folds) {
        int n = y.length;
        if (n < 2 * folds) {
            throw new IllegalArgumentException(n + " samples are too few for " + folds + "-fold cross-validation");
        }
        double[] lambdas = path(x, y);
        double[][] heldOut = new double[lambdas.length][n];
        for (int fold = 0; fold < folds; fold++) {
            int f = fold;
            int[] train = IntStream.range(0, n).filter(i -> i % folds != f).toArray();
            int[] test = IntStream.range(0, n).filter(i -> i % folds == f).toArray();
            Fit[] fits = fitPath(rows(x, train), select(y, train), lambdas);
            for (int l = 0; l < lambdas.length; l++) {
                for (int i : test) {
                    heldOut[l][i] = fits[l].predict(x[i]);
                }
            }
        }
        // The highest held-out rank correlation, and among penalties within 0.002 of it (rank correlation hardly
        // sees shrinkage) the one with the lowest held-out squared error.
        double[] correlations = new double[lambdas.length];
        for (int l = 0; l < lambdas.length; l++) {
            correlations[l] = spearman(heldOut[l], y);
        }
        double top = Arrays.stream(correlations).max().orElse(0);
        int best = -1;
        double bestError = Double.POSITIVE_INFINITY;
        for (int l = 0; l < lambdas.length; l++) {
            double error = 0;
            for (int i = 0; i < n; i++) {
                error += (heldOut[l][i] - y[i]) * (heldOut[l][i] - y[i]);
            }
            if (correlations[l] >= top - 0.002 && error < bestError) {
                best = l;
                bestError = error;
            }
        }
        double bestCorrelation = correlations[best];
        Fit fit = fitPath(x, y, Arrays.copyOf(lambdas, best + 1))[best];
        return new Fit(fit.intercept(), fit.coefficients(), lambdas[best], bestCorrelation);
    }

    /** The decreasing λ path from the smallest penalty that zeroes every coefficient. */
    static double[] path(double[][] x, double[] y) {
        Standardised s = Standardised.of(x, y);
        double max = 0;
        for (int j = 0; j < s.columns; j++) {
            double dot = 0;
            for (int i = 0; i < s.rows; i++) {
                dot += s.x[i][j] * s.y[i];
            }
            max = Math.max(max, Math.abs(dot) / s.rows);
        }
        double top = max == 0 ? 1e-12 : max;
        return IntStream.range(0, PATH_LENGTH)
                .mapToDouble(k -> top * Math.pow(PATH_RATIO, k / (double) (PATH_LENGTH - 1))).toArray();
    }

    /** One fit per penalty, each started from the previous one's coefficients. */
    public static Fit[] fitPath(double[][] x, double[] y, double[] lambdas) {
        Standardised s = Standardised.of(x, y);
        double[] beta = new double[s.columns];
        double[] residual = s.y.clone();
        Fit[] fits = new Fit[lambdas.length];
        for (int l = 0; l < lambdas.length; l++) {
            double lambda = lambdas[l];
            for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
                double largestChange = 0;
                for (int j = 0; j < s.columns; j++) {
                    if (s.scale[j] == 0) {
                        continue;
                    }
                    double rho = 0;
                    for (int i = 0; i < s.rows; i++) {
                        rho += s.x[i][j] * residual[i];
                    }
                    rho = rho / s.rows + beta[j];  // columns have unit variance: ‖x_j‖²/n = 1
                    double updated = Math.signum(rho) * Math.max(Math.abs(rho) - lambda, 0);
                    double change = updated - beta[j];
                    if (change != 0) {
                        for (int i = 0; i < s.rows; i++) {
                            residual[i] -= change * s.x[i][j];
                        }
                        beta[j] = updated;
                        largestChange = Math.max(largestChange, Math.abs(change));
                    }
                }
                if (largestChange < TOLERANCE) {
                    break;
                }
            }
            fits[l] = s.unstandardise(beta, lambda);
        }
        return fits;
    }

    /** Spearman rank correlation (average ranks for ties); 0 when either side is constant. */
    public static double spearman(double[] a, double[] b) {
        double[] ra = ranks(a);
        double[] rb = ranks(b);
        double meanA = Arrays.stream(ra).average().orElse(0);
        double meanB = Arrays.stream(rb).average().orElse(0);
        double covariance = 0;
        double varianceA = 0;
        double varianceB = 0;
        for (int i = 0; i < a.length; i++) {
            covariance += (ra[i] - meanA) * (rb[i] - meanB);
            varianceA += (ra[i] - meanA) * (ra[i] - meanA);
            varianceB += (rb[i] - meanB) * (rb[i] - meanB);
        }
        return varianceA == 0 || varianceB == 0 ? 0 : covariance / Math.sqrt(varianceA * varianceB);
    }

    private static double[] ranks(double[] values) {
        Integer[] order = IntStream.range(0, values.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> values[i]));
        double[] ranks = new double[values.length];
        for (int start = 0; start < order.length; ) {
            int end = start;
            while (end + 1 < order.length && values[order[end + 1]] == values[order[start]]) {
                end++;
            }
            for (int k = start; k <= end; k++) {
                ranks[order[k]] = (start + end) / 2.0;
            }
            start = end + 1;
        }
        return ranks;
    }

    private static double[][] rows(double[][] x, int[] indices) {
        return Arrays.stream(indices).mapToObj(i -> x[i]).toArray(double[][]::new);
    }

    private static double[] select(double[] y, int[] indices) {
        return Arrays.stream(indices).mapToDouble(i -> y[i]).toArray();
    }

    /** Centred, unit-variance columns and centred targets (constant columns get scale 0 and stay at β = 0). */
    private static final class Standardised {
        final int rows;
        final int columns;
        final double[][] x;
        final double[] y;
        final double[] mean;
        final double[] scale;
        final double yMean;

        private Standardised(double[][] x, double[] y, double[] mean, double[] scale, double yMean) {
            this.rows = y.length;
            this.columns = mean.length;
            this.x = x;
            this.y = y;
            this.mean = mean;
            this.scale = scale;
            this.yMean = yMean;
        }

        static Standardised of(double[][] x, double[] y) {
            int n = y.length;
            int p = x[0].length;
            double[] mean = new double[p];
            double[] scale = new double[p];
            for (double[] row : x) {
                for (int j = 0; j < p; j++) {
                    mean[j] += row[j] / n;
                }
            }
            for (double[] row : x) {
                for (int j = 0; j < p; j++) {
                    scale[j] += (row[j] - mean[j]) * (row[j] - mean[j]) / n;
                }
            }
            for (int j = 0; j < p; j++) {
                scale[j] = scale[j] < 1e-24 ? 0 : Math.sqrt(scale[j]);
            }
            double[][] standard = new double[n][p];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < p; j++) {
                    standard[i][j] = scale[j] == 0 ? 0 : (x[i][j] - mean[j]) / scale[j];
                }
            }
            double yMean = Arrays.stream(y).average().orElse(0);
            double[] centred = Arrays.stream(y).map(v -> v - yMean).toArray();
            return new Standardised(standard, centred, mean, scale, yMean);
        }

        Fit unstandardise(double[] beta, double lambda) {
            double[] coefficients = new double[columns];
            double intercept = yMean;
            for (int j = 0; j < columns; j++) {
                coefficients[j] = scale[j] == 0 ? 0 : beta[j] / scale[j];
                intercept -= coefficients[j] * mean[j];
            }
            return new Fit(intercept, coefficients, lambda, Double.NaN);
        }
    }
}
