package dev.tierserve.compressor.testing;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.OnnxModelWriter;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.store.ModelFileWriter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Real variants of a real encoder made with the graph toolkit, for the gateway's tests: they test serving and
 * rollouts, not compression, so their speed and quality are whatever these edits give.
 */
public final class GraphFixtures {

    private GraphFixtures() {
    }

    /** The model without its last {@code dropped} layers. */
    public static ModelProto dropLast(Path modelFile, int dropped) {
        ModelProto graph = OnnxModelReader.read(modelFile);
        for (int i = 0; i < dropped; i++) {
            StructureMap map = StructureDetector.detect(graph);
            graph = SubBlockRemoval.dropLayer(graph, map, map.layerCount() - 1);
        }
        return graph;
    }

    /**
     * The model with {@code extra} identity matrix products (hidden x hidden) on its output: the same outputs, bit for
     * bit (x·I adds only exact zeros), at several times the compute.
     */
    public static ModelProto padded(Path modelFile, int extra, int hidden) {
        ModelProto parent = OnnxModelReader.read(modelFile);
        GraphProto graph = parent.getGraph();
        String output = graph.getOutput(0).getName();
        GraphProto.Builder padded = graph.toBuilder();
        String inner = output + "_unpadded";
        for (int i = 0; i < padded.getNodeCount(); i++) {
            NodeProto node = padded.getNode(i);
            for (int o = 0; o < node.getOutputCount(); o++) {
                if (node.getOutput(o).equals(output)) {
                    padded.setNode(i, node.toBuilder().setOutput(o, inner));
                }
            }
        }
        ByteBuffer identity = ByteBuffer.allocate(hidden * hidden * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < hidden; r++) {
            identity.putFloat((r * hidden + r) * 4, 1f);
        }
        padded.addInitializer(TensorProto.newBuilder().setName("padding_identity").addDims(hidden).addDims(hidden)
                .setDataType(TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(identity.array())));
        String previous = inner;
        for (int i = 0; i < extra; i++) {
            String next = i == extra - 1 ? output : "padding_" + i;
            padded.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("padding_matmul_" + i)
                    .addInput(previous).addInput("padding_identity").addOutput(next));
            previous = next;
        }
        return parent.toBuilder().setGraph(padded).build();
    }

    /** What a store publishes the model with. */
    public static ModelFileWriter writer(ModelProto model) {
        return file -> OnnxModelWriter.write(model, file);
    }
}
