package dev.tierserve.compressor.calib;

import dev.tierserve.compressor.data.EncodedBatch;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

import java.util.Map;
import java.util.Set;

/**
 * Streams Σ x xᵀ over the real tokens of one activation (e.g. an output projection's input), in double.
 * Memory is one width × width matrix, whatever the number of calibration samples. It reads either the
 * activation itself [batch, sequence, width] (the product is formed here with EJML), or, much faster, a
 * search graph's Gram output [width, width] that ONNX Runtime computes per batch in double over the
 * unpadded tokens ({@code SearchGraphBuilder#gram}).
 */
public final class GramCollector implements ActivationCollector {

    private final String output;
    private DMatrixRMaj gram;
    private long tokens;

    public GramCollector(String output) {
        this.output = output;
    }

    @Override
    public Set<String> outputs() {
        return Set.of(output);
    }

    @Override
    public void accept(Map<String, Activation> outputs, EncodedBatch batch) {
        Activation activation = outputs.get(output);
        int width = activation.width();
        if (gram == null) {
            gram = new DMatrixRMaj(width, width);
        }
        if (activation.doubles() != null) {
            double[] batchGram = activation.doubles();
            for (int i = 0; i < batchGram.length; i++) {
                gram.data[i] += batchGram[i];
            }
            tokens += batch.realTokens();
            return;
        }
        DMatrixRMaj rows = new DMatrixRMaj(batch.realTokens(), width);
        int[] row = {0};
        float[] values = activation.values();
        activation.forEachRealToken(batch, (offset, token) -> {
            int base = row[0]++ * width;
            for (int c = 0; c < width; c++) {
                rows.data[base + c] = values[offset + c];
            }
        });
        CommonOps_DDRM.multAddTransA(rows, rows, gram);
        tokens += rows.numRows;
    }

    /** Σ x xᵀ so far. */
    public DMatrixRMaj gram() {
        if (gram == null) {
            throw new IllegalStateException("no batch seen for " + output);
        }
        return gram;
    }

    public long tokens() {
        return tokens;
    }

    /** ZipLM's Hessian of the layer-wise squared error: H = 2/N · Σ x xᵀ. */
    public DMatrixRMaj hessian() {
        DMatrixRMaj hessian = gram().copy();
        CommonOps_DDRM.scale(2.0 / tokens, hessian);
        return hessian;
    }

    /**
     * The Hessian, made from the collected sum in place: the collector lets go of it, so a job over many projections
     * holds each width × width matrix only until its projection is pruned. No batch may follow.
     */
    public DMatrixRMaj takeHessian() {
        DMatrixRMaj hessian = gram();
        CommonOps_DDRM.scale(2.0 / tokens, hessian);
        gram = null;
        return hessian;
    }
}
