package dev.tierserve.gateway;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.tierserve.compressor.eval.EncoderQuality;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.store.VariantManifest;
import dev.tierserve.compressor.store.VariantStore;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.Map;

/**
 * Real variants of a test model's MiniLM, made with the graph toolkit and published into a store as fixtures: their
 * manifests state a tier and a quality, not measured ones (these fixtures test serving, not compression).
 */
public final class VariantFixtures {

    private VariantFixtures() {
    }

    /** MiniLM without its last {@code dropped} layers. */
    public static ModelProto dropLast(String model, int dropped) {
        ModelProto graph = parent(model);
        for (int i = 0; i < dropped; i++) {
            StructureMap map = StructureDetector.detect(graph);
            graph = SubBlockRemoval.dropLayer(graph, map, map.layerCount() - 1);
        }
        return graph;
    }

    /**
     * MiniLM with {@code extra} identity matrix products (hidden x hidden) on its output: the same outputs, bit for
     * bit (x·I adds only exact zeros), at several times the compute.
     */
    public static ModelProto padded(String model, int extra, int hidden) {
        ModelProto parent = parent(model);
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

    /** Publishes {@code graph} as variant {@code id} of {@code tier}, its manifest stating {@code cosine}. */
    public static void publish(VariantStore store, String model, String id, ModelProto graph, double tier,
                               double cosine) {
        if (store.variant(model, id).isPresent()) {
            return; // published by an earlier run into this build's store
        }
        store.publish(model, id, graph, sha -> new VariantManifest(id, model, "", "fixture: " + id,
                Map.of(), tier, tier, null,
                new VariantManifest.Quality("fixture", 0, new EncoderQuality(cosine, cosine, 1, null, null), null),
                "", sha, Instant.now().toString(), false));
    }

    private static ModelProto parent(String model) {
        return OnnxModelReader.read(TestModels.ROOT.resolve(model).resolve("model.onnx"));
    }
}
