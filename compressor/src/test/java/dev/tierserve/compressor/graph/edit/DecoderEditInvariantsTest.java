package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.tierserve.compressor.OrtRunner;
import dev.tierserve.compressor.OrtRunner.FloatInput;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.graph.search.SearchGraphBuilder;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.synthetic.DecoderBuilder;
import dev.tierserve.compressor.synthetic.DecoderConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static dev.tierserve.compressor.graph.edit.EncoderEditInvariantsTest.assertClose;
import static dev.tierserve.compressor.graph.edit.EncoderEditInvariantsTest.mask;
import static dev.tierserve.compressor.graph.edit.EncoderEditInvariantsTest.randomSubset;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Masking equals removing on the synthetic pre-norm decoders, cache inputs and outputs included. */
class DecoderEditInvariantsTest {

    private static DecoderConfig config(DecoderConfig.Family family) {
        return family == DecoderConfig.Family.GPT2 ? DecoderConfig.gpt2() : DecoderConfig.llama();
    }

    @ParameterizedTest
    @EnumSource(DecoderConfig.Family.class)
    void masksAndGatesEqualPhysicalEdits(DecoderConfig.Family family) {
        DecoderConfig config = config(family);
        ModelProto model = DecoderBuilder.build(config);
        StructureMap map = StructureDetector.detect(model);
        SearchGraph search = SearchGraphBuilder.of(model, map).headMasks().channelMasks().subBlockGates().build();
        Map<String, Object> inputs = OrtRunner.decoderInputs(config, 2, 5, 3, 11);
        float[] original = OrtRunner.run(model, inputs).get("logits");
        assertArrayEquals(original, OrtRunner.run(search, inputs).get("logits"), "defaults reproduce the model exactly");

        // Heads: for Llama (2 query heads per KV head) heads 2 and 3 are KV group 1.
        Set<Integer> heads = family == DecoderConfig.Family.GPT2 ? Set.of(1) : Set.of(2, 3);
        ModelProto pruned = HeadPruning.pruneHeads(model, map, 1, heads);
        StructureMap prunedMap = StructureDetector.detect(pruned);
        assertEquals(map.layer(1).attention().heads() - heads.size(), prunedMap.layer(1).attention().heads());
        int removedGroup = heads.iterator().next() / map.layer(1).attention().groupSize();
        Map<String, float[]> prunedOut = OrtRunner.run(pruned, withoutKvHead(inputs, config, 1, removedGroup));
        assertClose(OrtRunner.run(search, with(inputs, search.headMasks().get(1),
                mask(map.layer(1).attention().heads(), heads))).get("logits"), prunedOut.get("logits"));
        int kvHeads = prunedMap.layer(1).attention().kvHeads();
        assertEquals(2 * kvHeads * 8 * config.headDim(), prunedOut.get("present.1.key").length,
                "the layer's cache shrinks with its KV heads");

        Set<Integer> channels = randomSubset(config.ffn(), config.ffn() / 3, 5);
        assertClose(OrtRunner.run(search, with(inputs, search.channelMasks().get(2), mask(config.ffn(), channels)))
                .get("logits"), OrtRunner.run(ChannelPruning.pruneChannels(model, map, 2, channels), inputs).get("logits"));

        assertClose(OrtRunner.run(search, with(inputs, search.attentionGates().get(3), new float[] {0})).get("logits"),
                OrtRunner.run(SubBlockRemoval.dropAttention(model, map, 3), inputs).get("logits"));
        assertClose(OrtRunner.run(search, with(inputs, search.mlpGates().get(0), new float[] {0})).get("logits"),
                OrtRunner.run(SubBlockRemoval.dropMlp(model, map, 0), inputs).get("logits"));

        Map<String, Object> bothGates = with(inputs, search.attentionGates().get(2), new float[] {0});
        bothGates.put(search.mlpGates().get(2), new FloatInput(new float[] {0}, new long[] {1}));
        ModelProto dropped = SubBlockRemoval.dropLayer(model, map, 2);
        assertClose(OrtRunner.run(search, bothGates).get("logits"), OrtRunner.run(dropped, inputs).get("logits"));
        assertEquals(3, StructureDetector.detect(dropped).layerCount());
        assertFalse(names(dropped.getGraph().getInputList()).contains("past_key_values.2.key"));
        assertFalse(names(dropped.getGraph().getOutputList()).contains("present.2.value"));
        assertTrue(names(dropped.getGraph().getOutputList()).contains("present.3.value"));

        ModelProto truncated = SubBlockRemoval.dropLastLayers(model, 2);
        assertEquals(2, StructureDetector.detect(truncated).layerCount());
        assertFalse(names(truncated.getGraph().getInputList()).contains("past_key_values.3.key"));
        assertTrue(names(truncated.getGraph().getInputList()).contains("past_key_values.1.key"));
        Map<String, Object> twoGates = with(inputs, search.attentionGates().get(2), new float[] {0});
        for (String gate : new String[] {search.mlpGates().get(2), search.attentionGates().get(3), search.mlpGates().get(3)}) {
            twoGates.put(gate, new FloatInput(new float[] {0}, new long[] {1}));
        }
        assertClose(OrtRunner.run(search, twoGates).get("logits"), OrtRunner.run(truncated, inputs).get("logits"));
    }

    @Test
    void groupedQueryAttentionPrunesOnlyWholeGroups() {
        ModelProto model = DecoderBuilder.build(DecoderConfig.llama());
        StructureMap map = StructureDetector.detect(model);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HeadPruning.pruneHeads(model, map, 0, Set.of(2)));
        assertTrue(e.getMessage().contains("prune whole groups"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(DecoderConfig.Family.class)
    void editedDecodersAgreeAcrossOptimisationLevels(DecoderConfig.Family family) {
        DecoderConfig config = config(family);
        ModelProto model = DecoderBuilder.build(config);
        StructureMap map = StructureDetector.detect(model);
        ModelProto edited = HeadPruning.pruneHeads(model, map, 0,
                family == DecoderConfig.Family.GPT2 ? Set.of(0, 3) : Set.of(0, 1, 6, 7));
        edited = ChannelPruning.pruneChannels(edited, StructureDetector.detect(edited), 3, randomSubset(config.ffn(), 100, 2));
        edited = SubBlockRemoval.dropMlp(edited, StructureDetector.detect(edited), 1);
        Map<String, Object> inputs = OrtRunner.decoderInputs(config, 2, 4, 2, 1);
        inputs = withoutKvHead(withoutKvHead(inputs, config, 0, 3), config, 0, 0);
        float[] reference = OrtRunner.run(edited, inputs, OptLevel.NO_OPT).get("logits");
        for (OptLevel level : new OptLevel[] {OptLevel.BASIC_OPT, OptLevel.EXTENDED_OPT, OptLevel.ALL_OPT}) {
            assertClose(reference, OrtRunner.run(edited, inputs, level).get("logits"));
        }
    }

    private static Map<String, Object> with(Map<String, Object> inputs, String name, float[] value) {
        Map<String, Object> fed = new LinkedHashMap<>(inputs);
        fed.put(name, new FloatInput(value, new long[] {value.length}));
        return fed;
    }

    /** The inputs with one KV head's slice removed from a layer's past key and value. */
    private static Map<String, Object> withoutKvHead(Map<String, Object> inputs, DecoderConfig config, int layer,
                                                     int kvHead) {
        Map<String, Object> fed = new LinkedHashMap<>(inputs);
        for (String part : new String[] {"key", "value"}) {
            String name = "past_key_values." + layer + "." + part;
            FloatInput past = (FloatInput) inputs.get(name);
            long[] shape = past.shape();
            int heads = (int) shape[1];
            int block = (int) (shape[2] * shape[3]);
            float[] kept = new float[(int) shape[0] * (heads - 1) * block];
            int at = 0;
            for (int b = 0; b < shape[0]; b++) {
                for (int h = 0; h < heads; h++) {
                    if (h != kvHead) {
                        System.arraycopy(past.values(), (b * heads + h) * block, kept, at, block);
                        at += block;
                    }
                }
            }
            fed.put(name, new FloatInput(kept, new long[] {shape[0], heads - 1, shape[2], shape[3]}));
        }
        return fed;
    }

    private static Set<String> names(java.util.List<ValueInfoProto> values) {
        return values.stream().map(ValueInfoProto::getName).collect(java.util.stream.Collectors.toSet());
    }
}
