package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_FDRM;

import java.util.stream.IntStream;

/** Keeps chosen rows or columns of weight initializers (ONNX MatMul layout [in, out]) and entries of biases. */
final class WeightSlicing {

    private WeightSlicing() {
    }

    static void keepColumns(MutableGraph graph, String weight, int[] columns) {
        FMatrixRMaj matrix = TensorData.matrix(require(graph, weight));
        FMatrixRMaj kept = new FMatrixRMaj(matrix.numRows, columns.length);
        CommonOps_FDRM.extract(matrix, all(matrix.numRows), matrix.numRows, columns, columns.length, kept);
        graph.setInitializer(TensorData.fromMatrix(weight, kept));
    }

    static void keepRows(MutableGraph graph, String weight, int[] rows) {
        FMatrixRMaj matrix = TensorData.matrix(require(graph, weight));
        FMatrixRMaj kept = new FMatrixRMaj(rows.length, matrix.numCols);
        CommonOps_FDRM.extract(matrix, rows, rows.length, all(matrix.numCols), matrix.numCols, kept);
        graph.setInitializer(TensorData.fromMatrix(weight, kept));
    }

    static void keepEntries(MutableGraph graph, String vector, int[] entries) {
        if (vector == null) {
            return;
        }
        float[] values = TensorData.floats(require(graph, vector));
        float[] kept = new float[entries.length];
        for (int i = 0; i < entries.length; i++) {
            kept[i] = values[entries[i]];
        }
        graph.setInitializer(TensorData.fromVector(vector, kept));
    }

    static int[] all(int count) {
        return IntStream.range(0, count).toArray();
    }

    static TensorProto require(MutableGraph graph, String name) {
        return graph.initializer(name).orElseThrow(() -> new IllegalArgumentException("no initializer " + name));
    }
}
