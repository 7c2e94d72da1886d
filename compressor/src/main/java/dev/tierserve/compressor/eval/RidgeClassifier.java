package dev.tierserve.compressor.eval;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The evaluation's "simple classifier": one-vs-rest ridge regression on embeddings with a bias term,
 * solved in closed form, {@code W = (XᵀX + λI)⁻¹ XᵀY}; the prediction is the class with the largest score.
 */
public final class RidgeClassifier {

    private final List<String> classes;
    private final DMatrixRMaj weights;

    private RidgeClassifier(List<String> classes, DMatrixRMaj weights) {
        this.classes = classes;
        this.weights = weights;
    }

    public static RidgeClassifier fit(float[][] embeddings, List<String> labels, double lambda) {
        if (embeddings.length != labels.size() || embeddings.length == 0) {
            throw new IllegalArgumentException("need one label per embedding");
        }
        List<String> classes = List.copyOf(new TreeSet<>(labels.stream().filter(Objects::nonNull).toList()));
        DMatrixRMaj x = design(embeddings);
        DMatrixRMaj y = new DMatrixRMaj(embeddings.length, classes.size());
        for (int i = 0; i < embeddings.length; i++) {
            y.set(i, classes.indexOf(labels.get(i)), 1.0);
        }
        DMatrixRMaj gram = new DMatrixRMaj(x.numCols, x.numCols);
        CommonOps_DDRM.multTransA(x, x, gram);
        for (int i = 0; i < gram.numRows; i++) {
            gram.add(i, i, lambda);
        }
        DMatrixRMaj xty = new DMatrixRMaj(x.numCols, classes.size());
        CommonOps_DDRM.multTransA(x, y, xty);
        DMatrixRMaj weights = new DMatrixRMaj(x.numCols, classes.size());
        if (!CommonOps_DDRM.solve(gram, xty, weights)) {
            throw new IllegalStateException("ridge system is singular");
        }
        return new RidgeClassifier(classes, weights);
    }

    public String predict(float[] embedding) {
        DMatrixRMaj x = design(new float[][] {embedding});
        DMatrixRMaj scores = new DMatrixRMaj(1, classes.size());
        CommonOps_DDRM.mult(x, weights, scores);
        int best = 0;
        for (int k = 1; k < classes.size(); k++) {
            if (scores.get(0, k) > scores.get(0, best)) {
                best = k;
            }
        }
        return classes.get(best);
    }

    public double accuracy(float[][] embeddings, List<String> labels) {
        int correct = 0;
        for (int i = 0; i < embeddings.length; i++) {
            if (predict(embeddings[i]).equals(labels.get(i))) {
                correct++;
            }
        }
        return (double) correct / embeddings.length;
    }

    private static DMatrixRMaj design(float[][] embeddings) {
        int width = embeddings[0].length;
        DMatrixRMaj x = new DMatrixRMaj(embeddings.length, width + 1);
        for (int i = 0; i < embeddings.length; i++) {
            for (int c = 0; c < width; c++) {
                x.set(i, c, embeddings[i][c]);
            }
            x.set(i, width, 1.0);
        }
        return x;
    }
}
