package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.OrtRunner;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import dev.tierserve.compressor.synthetic.DecoderBuilder;
import dev.tierserve.compressor.synthetic.DecoderConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;

import static dev.tierserve.compressor.graph.edit.EncoderEditInvariantsTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerParallelismTest {

    @Test
    void fusedPairsEqualPlainPairsOnBgeSmall() {
        ModelProto model = TestModels.load(TestModels.BGE_SMALL);
        StructureMap map = StructureDetector.detect(model);
        Map<String, Object> inputs = OrtRunner.encoderInputs(2, 10, 2, 9);
        ModelProto plain = LayerParallelism.parallelise(model, map, 8, 2, false);
        ModelProto fused = LayerParallelism.parallelise(model, map, 8, 2, true);
        float[] plainOut = OrtRunner.run(plain, inputs).get("last_hidden_state");
        assertClose(plainOut, OrtRunner.run(fused, inputs).get("last_hidden_state"));
        assertTrue(OrtRunner.maxAbsDiff(plainOut, OrtRunner.run(model, inputs).get("last_hidden_state")) > 1e-3,
                "parallel pairs compute something else than the sequential layers");

        StructureMap fusedMap = StructureDetector.detect(fused);
        assertEquals(10, fusedMap.layerCount(), "two pairs became two wide layers");
        TransformerLayer wide = fusedMap.layer(8);
        assertEquals(24, wide.attention().heads());
        assertEquals(3072, wide.mlp().intermediateSize());
        assertEquals(12, fusedMap.layer(7).attention().heads());
    }

    @ParameterizedTest
    @EnumSource(DecoderConfig.Family.class)
    void fusedPairsEqualPlainPairsOnDecoders(DecoderConfig.Family family) {
        DecoderConfig config = (family == DecoderConfig.Family.GPT2 ? DecoderConfig.gpt2() : DecoderConfig.llama())
                .withCache(false);
        ModelProto model = DecoderBuilder.build(config);
        StructureMap map = StructureDetector.detect(model);
        Map<String, Object> inputs = OrtRunner.decoderInputs(config, 2, 6, 0, 4);
        float[] plain = OrtRunner.run(LayerParallelism.parallelise(model, map, 0, 2, false), inputs).get("logits");
        ModelProto fused = LayerParallelism.parallelise(model, map, 0, 2, true);
        assertClose(plain, OrtRunner.run(fused, inputs).get("logits"));
        assertTrue(OrtRunner.maxAbsDiff(plain, OrtRunner.run(model, inputs).get("logits")) > 1e-4);
        StructureMap fusedMap = StructureDetector.detect(fused);
        assertEquals(2, fusedMap.layerCount());
        assertEquals(2 * config.heads(), fusedMap.layer(0).attention().heads());
        assertEquals(2 * config.kvHeads(), fusedMap.layer(0).attention().kvHeads());
        assertEquals(config.heads() / config.kvHeads(), fusedMap.layer(0).attention().groupSize());
    }

    @Test
    void aFusedDecoderPairKeepsOneCacheWithBothLayersHeads() {
        DecoderConfig config = DecoderConfig.llama();
        ModelProto model = DecoderBuilder.build(config);
        ModelProto fused = LayerParallelism.parallelise(model, StructureDetector.detect(model), 2, 1, true);
        StructureMap map = StructureDetector.detect(fused);
        assertEquals(3, map.layerCount());
        assertEquals("past_key_values.3.key", map.layer(2).attention().pastKey());
        assertTrue(fused.getGraph().getInputList().stream().noneMatch(i -> i.getName().equals("past_key_values.2.key")));
        // Feed a cache with both layers' KV heads for the fused layer.
        Map<String, Object> feeds = OrtRunner.decoderInputs(config, 1, 3, 2, 8);
        long[] shape = {1, 2L * config.kvHeads(), 2, config.headDim()};
        float[] past = new float[(int) (shape[1] * shape[2] * shape[3])];
        java.util.Arrays.fill(past, 0.5f);
        feeds.put("past_key_values.3.key", new OrtRunner.FloatInput(past, shape));
        feeds.put("past_key_values.3.value", new OrtRunner.FloatInput(past, shape));
        float[] present = OrtRunner.run(fused, feeds).get("present.3.key");
        assertEquals(2 * config.kvHeads() * 5 * config.headDim(), present.length);
    }

    @Test
    void rejectsWindowsOutsideTheModel() {
        ModelProto model = DecoderBuilder.build(DecoderConfig.gpt2());
        StructureMap map = StructureDetector.detect(model);
        assertThrows(IllegalArgumentException.class, () -> LayerParallelism.parallelise(model, map, 3, 1, true));
    }
}
