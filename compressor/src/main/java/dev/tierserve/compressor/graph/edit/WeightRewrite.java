package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.structure.Projection;
import org.ejml.data.FMatrixRMaj;

import java.util.Arrays;

/** Replaces a projection's weight (and bias), e.g. with an OBS-updated matrix. Shapes must not change. */
public final class WeightRewrite {

    private WeightRewrite() {
    }

    public static ModelProto replace(ModelProto model, Projection projection, FMatrixRMaj weight, float[] bias) {
        MutableGraph graph = new MutableGraph(model);
        replaceInitializer(graph, TensorData.fromMatrix(projection.weight(), weight));
        if (bias != null) {
            if (!projection.hasBias()) {
                throw new IllegalArgumentException(projection.matMul() + " has no bias to replace");
            }
            replaceInitializer(graph, TensorData.fromVector(projection.bias(), bias));
        }
        return graph.toModel();
    }

    static void replaceInitializer(MutableGraph graph, TensorProto value) {
        TensorProto old = WeightSlicing.require(graph, value.getName());
        if (!Arrays.equals(TensorData.dims(old), TensorData.dims(value))) {
            throw new IllegalArgumentException("initializer " + value.getName() + " has shape "
                    + old.getDimsList() + "; the replacement has " + value.getDimsList());
        }
        graph.setInitializer(value);
    }
}
