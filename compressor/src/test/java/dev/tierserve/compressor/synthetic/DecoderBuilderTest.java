package dev.tierserve.compressor.synthetic;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.OrtRunner;
import dev.tierserve.compressor.OrtRunner.FloatInput;
import dev.tierserve.compressor.OrtRunner.LongInput;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.Norm;
import dev.tierserve.compressor.graph.structure.ShapeConstant.Role;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DecoderBuilderTest {

    @Test
    void sameSeedSameModel() {
        assertArrayEquals(DecoderBuilder.build(DecoderConfig.llama()).toByteArray(),
                DecoderBuilder.build(DecoderConfig.llama()).toByteArray());
    }

    @Test
    void gpt2StyleIsMappedWithItsPackedProjectionAndCache() {
        DecoderConfig config = DecoderConfig.gpt2();
        StructureMap map = StructureDetector.detect(DecoderBuilder.build(config));
        assertTrue(map.synthetic());
        assertTrue(map.isDecoder());
        assertEquals(StructureMap.Layout.PRE_NORM, map.layout());
        assertEquals(4, map.layerCount());
        AttentionBlock attention = map.layer(2).attention();
        assertTrue(attention.isPacked());
        assertEquals(4, attention.heads());
        assertEquals(32, attention.headDim());
        assertEquals("past_key_values.2.key", attention.pastKey());
        assertEquals("present.2.value", attention.presentValue());
        assertTrue(attention.shapeConstants().stream().anyMatch(c -> c.role() == Role.KV_WIDTH));
        assertEquals(Norm.Kind.LAYER_NORM, map.layer(2).attentionNorm().kind());
        assertEquals("gelu_tanh", map.layer(2).mlp().activationKind());
        assertEquals(1000, map.lmHead().outFeatures());
    }

    @Test
    void llamaStyleIsMappedWithGroupedQueryAttentionAndSwiGlu() {
        StructureMap map = StructureDetector.detect(DecoderBuilder.build(DecoderConfig.llama()));
        AttentionBlock attention = map.layer(0).attention();
        assertEquals(8, attention.heads());
        assertEquals(4, attention.kvHeads());
        assertEquals(2, attention.groupSize());
        assertEquals(16, attention.headDim());
        assertNull(attention.query().bias());
        assertTrue(attention.shapeConstants().stream().anyMatch(c -> c.role() == Role.GROUP_SIZE && c.value() == 2));
        assertTrue(attention.shapeConstants().stream().anyMatch(c -> c.role() == Role.KV_HEADS && c.value() == 4));
        assertEquals(Norm.Kind.RMS_NORM, map.layer(0).attentionNorm().kind());
        assertEquals("swiglu", map.layer(0).mlp().activationKind());
        assertEquals("/model/layers.0/mlp/gate_proj/MatMul_output_0", map.layer(0).mlp().gate().matMul());
        assertEquals(Norm.Kind.RMS_NORM, map.finalNorm().kind());

        StructureMap noCache = StructureDetector.detect(DecoderBuilder.build(DecoderConfig.llama().withCache(false)));
        assertNull(noCache.layer(0).attention().pastKey());
    }

    /** The cache is right: 3 tokens then 5 with the returned keys/values equals 8 tokens at once. */
    @Test
    void incrementalDecodingWithTheCacheEqualsTheFullSequence() {
        for (DecoderConfig config : new DecoderConfig[] {DecoderConfig.gpt2(), DecoderConfig.llama()}) {
            ModelProto model = DecoderBuilder.build(config);
            Map<String, Object> full = OrtRunner.decoderInputs(config, 1, 8, 0, 3);
            long[] ids = ((LongInput) full.get("input_ids")).values();
            Map<String, float[]> all = OrtRunner.run(model, full);

            Map<String, Object> prefix = OrtRunner.decoderInputs(config, 1, 3, 0, 3);
            prefix.put("input_ids", new LongInput(Arrays.copyOfRange(ids, 0, 3), new long[] {1, 3}));
            Map<String, float[]> first = OrtRunner.run(model, prefix);

            Map<String, Object> rest = OrtRunner.decoderInputs(config, 1, 5, 3, 3);
            rest.put("input_ids", new LongInput(Arrays.copyOfRange(ids, 3, 8), new long[] {1, 5}));
            for (int layer = 0; layer < config.layers(); layer++) {
                for (String part : new String[] {"key", "value"}) {
                    rest.put("past_key_values." + layer + "." + part, new FloatInput(first.get("present." + layer + "." + part),
                            new long[] {1, config.kvHeads(), 3, config.headDim()}));
                }
            }
            Map<String, float[]> second = OrtRunner.run(model, rest);
            float[] expected = Arrays.copyOfRange(all.get("logits"), 3 * config.vocab(), 8 * config.vocab());
            double diff = OrtRunner.maxAbsDiff(expected, second.get("logits"));
            assertTrue(diff < 1e-4, config.family() + ": incremental logits differ by " + diff);
            assertEquals(8 * config.vocab(), all.get("logits").length);
        }
    }

    @Test
    void causalMaskHidesTheFuture() {
        DecoderConfig config = DecoderConfig.llama().withCache(false);
        ModelProto model = DecoderBuilder.build(config);
        Map<String, Object> inputs = OrtRunner.decoderInputs(config, 1, 6, 0, 5);
        float[] before = OrtRunner.run(model, inputs).get("logits");
        Map<String, Object> changed = new LinkedHashMap<>(inputs);
        long[] ids = ((LongInput) inputs.get("input_ids")).values().clone();
        ids[5] = (ids[5] + 1) % config.vocab();
        changed.put("input_ids", new LongInput(ids, new long[] {1, 6}));
        float[] after = OrtRunner.run(model, changed).get("logits");
        int v = config.vocab();
        assertArrayEquals(Arrays.copyOfRange(before, 0, 5 * v), Arrays.copyOfRange(after, 0, 5 * v),
                "positions 0..4 cannot see token 5");
        assertTrue(OrtRunner.maxAbsDiff(Arrays.copyOfRange(before, 5 * v, 6 * v), Arrays.copyOfRange(after, 5 * v, 6 * v))
                > 1e-4);
    }
}
