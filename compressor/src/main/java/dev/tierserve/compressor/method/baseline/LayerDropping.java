package dev.tierserve.compressor.method.baseline;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;

/** The naive depth baseline: drop the last {@code count} layers. */
public final class LayerDropping {

    private LayerDropping() {
    }

    public static ModelProto dropLast(ModelProto parent, int count) {
        ModelProto model = parent;
        for (int k = 0; k < count; k++) {
            var map = StructureDetector.detect(model);
            model = SubBlockRemoval.dropLayer(model, map, map.layerCount() - 1);
        }
        return model;
    }
}
