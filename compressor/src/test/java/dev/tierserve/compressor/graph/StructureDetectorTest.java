package dev.tierserve.compressor.graph;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.Norm;
import dev.tierserve.compressor.graph.structure.ShapeConstant;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.StructurePatternException;
import dev.tierserve.compressor.graph.structure.StructureReport;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StructureDetectorTest {

    @ParameterizedTest
    @CsvSource({"bge-small-en-v1.5.onnx,12", "all-minilm-l6-v2.onnx,6", "e5-small-v2.onnx,12"})
    void mapsTheBertFamilyExports(String resource, int layers) {
        StructureMap map = StructureDetector.detect(TestModels.load(resource));
        assertEquals(StructureMap.Layout.POST_NORM, map.layout());
        assertEquals(layers, map.layerCount());
        assertEquals(384, map.hiddenSize());
        assertEquals("/embeddings/LayerNorm/Add_1_output_0", map.streamStart());
        assertFalse(map.synthetic());
        assertFalse(map.isDecoder());
        for (TransformerLayer layer : map.layers()) {
            int i = layer.index();
            AttentionBlock a = layer.attention();
            assertEquals(12, a.heads());
            assertEquals(12, a.kvHeads());
            assertEquals(32, a.headDim());
            String prefix = "/encoder/layer." + i + "/attention/";
            assertEquals(prefix + "self/query/MatMul_output_0", a.query().matMul());
            assertEquals(prefix + "self/key/MatMul_output_0", a.key().matMul());
            assertEquals(prefix + "self/value/MatMul_output_0", a.value().matMul());
            assertEquals(prefix + "output/dense/MatMul_output_0", a.output().matMul());
            assertEquals("encoder.layer." + i + ".attention.self.query.bias", a.query().bias());
            assertEquals(prefix + "output/Add_output_0", a.residualAdd());
            // Q, K, V reshapes to [B, S, 12, 32] and the context reshape to [B, S, 384].
            assertEquals(EnumSet.of(ShapeConstant.Role.HEADS, ShapeConstant.Role.KV_HEADS, ShapeConstant.Role.HEAD_DIM,
                            ShapeConstant.Role.ATTENTION_WIDTH),
                    a.shapeConstants().stream().map(ShapeConstant::role).collect(Collectors.toCollection(
                            () -> EnumSet.noneOf(ShapeConstant.Role.class))));
            assertEquals(7, a.shapeConstants().size());
            assertEquals(Norm.Kind.LAYER_NORM, layer.attentionNorm().kind());
            assertEquals("encoder.layer." + i + ".attention.output.LayerNorm.weight", layer.attentionNorm().weight());
            assertEquals(1536, layer.mlp().intermediateSize());
            assertEquals("gelu", layer.mlp().activationKind());
            assertNull(layer.mlp().gate());
            assertEquals("/encoder/layer." + i + "/intermediate/dense/MatMul_output_0", layer.mlp().up().matMul());
            if (i < layers - 1) {
                assertEquals("/encoder/layer." + i + "/output/LayerNorm/Add_1_output_0", layer.output());
                assertEquals(layer.output(), map.layer(i + 1).input());
            }
        }
        assertEquals("last_hidden_state", map.layers().get(layers - 1).output());
        String report = StructureReport.render(map, 128);
        assertTrue(report.contains(layers + " layers, hidden 384"), report);
    }

    @Test
    void anUnmappableGraphNamesThePatternAndWhere() {
        ModelProto model = TestModels.load(TestModels.MINILM);
        // Break layer 2's attention LayerNorm: its centring Sub becomes an Add.
        MutableGraph graph = new MutableGraph(model);
        NodeProto sub = graph.nodes().stream()
                .filter(n -> n.getName().equals("/encoder/layer.2/attention/output/LayerNorm/Sub")).findFirst().orElseThrow();
        graph.replaceNode(sub, sub.toBuilder().setOpType("Add").build());
        StructurePatternException e = assertThrows(StructurePatternException.class,
                () -> StructureDetector.detect(graph.toModel()));
        assertTrue(e.getMessage().contains("expected a LayerNorm after the residual Add at layer 2"), e.getMessage());
        assertTrue(e.getMessage().contains("/encoder/layer.2/attention/output/Add_output_0"), e.getMessage());
    }

    @Test
    void aGraphWithoutProjectionsIsRejected() {
        ModelProto model = TestModels.load(TestModels.MINILM);
        MutableGraph graph = new MutableGraph(model);
        Set<String> matMuls = graph.nodes().stream().filter(n -> n.getOpType().equals("MatMul"))
                .map(n -> n.getInput(1)).collect(Collectors.toSet());
        // Turn every weight into a graph input: no projection remains recognisable.
        graph.initializers().stream().filter(t -> matMuls.contains(t.getName())).map(t -> t.getName()).toList()
                .forEach(name -> graph.addInput(MutableGraph.floatValueInfo(name, java.util.List.of(384, 384))));
        ModelProto broken = graph.toModel().toBuilder().setGraph(graph.toModel().getGraph().toBuilder()
                .clearInitializer()).build();
        StructurePatternException e = assertThrows(StructurePatternException.class,
                () -> StructureDetector.detect(broken));
        assertTrue(e.getMessage().contains("a MatMul with a 2-D weight initializer"), e.getMessage());
    }
}
