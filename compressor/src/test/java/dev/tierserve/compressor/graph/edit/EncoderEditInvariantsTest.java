package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.tierserve.compressor.OrtRunner;
import dev.tierserve.compressor.OrtRunner.FloatInput;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.graph.search.SearchGraphBuilder;
import dev.tierserve.compressor.graph.structure.Projection;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Masking equals removing, on the real BGE-small export (post-norm, 12 layers). */
class EncoderEditInvariantsTest {

    private static final double TOLERANCE = 1e-5;
    private static final String OUTPUT = "last_hidden_state";

    private static ModelProto model;
    private static StructureMap map;
    private static SearchGraph search;
    private static Map<String, Object> inputs;

    @BeforeAll
    static void load() {
        model = TestModels.load(TestModels.BGE_SMALL);
        map = StructureDetector.detect(model);
        search = SearchGraphBuilder.of(model, map).headMasks().channelMasks().subBlockGates().build();
        inputs = OrtRunner.encoderInputs(2, 12, 3, 42);
    }

    @Test
    void defaultMasksAndGatesOfOneGiveTheOriginalModelExactly() {
        float[] original = OrtRunner.run(model, inputs).get(OUTPUT);
        Map<String, Object> ones = new HashMap<>(inputs);
        search.attentionGates().values().forEach(g -> ones.put(g, new FloatInput(new float[] {1f}, new long[] {1})));
        assertArrayEquals(original, OrtRunner.run(search, ones).get(OUTPUT));
    }

    @Test
    void zeroHeadMaskEqualsPrunedHeads() {
        Set<Integer> heads = Set.of(1, 5, 11);
        ModelProto pruned = HeadPruning.pruneHeads(model, map, 3, heads);
        StructureMap prunedMap = StructureDetector.detect(pruned);
        assertEquals(9, prunedMap.layer(3).attention().heads());
        assertEquals(9 * 32, prunedMap.layer(3).attention().query().outFeatures());
        assertEquals(12, prunedMap.layer(4).attention().heads(), "other layers untouched");

        float[] masked = OrtRunner.run(search, with(search.headMasks().get(3), mask(12, heads))).get(OUTPUT);
        assertClose(masked, OrtRunner.run(pruned, inputs).get(OUTPUT));
        assertTrue(OrtRunner.maxAbsDiff(masked, OrtRunner.run(model, inputs).get(OUTPUT)) > 1e-3,
                "removing three heads changes the output");
    }

    @Test
    void zeroChannelMaskEqualsPrunedChannels() {
        Set<Integer> channels = randomSubset(1536, 500, 7);
        ModelProto pruned = ChannelPruning.pruneChannels(model, map, 7, channels);
        assertEquals(1036, StructureDetector.detect(pruned).layer(7).mlp().intermediateSize());
        float[] masked = OrtRunner.run(search, with(search.channelMasks().get(7), mask(1536, channels)))
                .get(OUTPUT);
        assertClose(masked, OrtRunner.run(pruned, inputs).get(OUTPUT));
    }

    @Test
    void zeroGatesEqualDroppedSubBlocksAndLayers() {
        ModelProto noAttention = SubBlockRemoval.dropAttention(model, map, 5);
        StructureMap remapped = StructureDetector.detect(noAttention);
        assertNull(remapped.layer(5).attention());
        assertEquals(12, remapped.layerCount());
        assertClose(OrtRunner.run(search, with(search.attentionGates().get(5), new float[] {0})).get(OUTPUT),
                OrtRunner.run(noAttention, inputs).get(OUTPUT));

        ModelProto noMlp = SubBlockRemoval.dropMlp(model, map, 11);
        assertNull(StructureDetector.detect(noMlp).layer(11).mlp());
        assertClose(OrtRunner.run(search, with(search.mlpGates().get(11), new float[] {0})).get(OUTPUT),
                OrtRunner.run(noMlp, inputs).get(OUTPUT));

        ModelProto noLayer = SubBlockRemoval.dropLayer(model, map, 0);
        assertEquals(11, StructureDetector.detect(noLayer).layerCount());
        Map<String, Object> gated = with(search.attentionGates().get(0), new float[] {0});
        gated.put(search.mlpGates().get(0), new FloatInput(new float[] {0}, new long[] {1}));
        assertClose(OrtRunner.run(search, gated).get(OUTPUT), OrtRunner.run(noLayer, inputs).get(OUTPUT));
    }

    @Test
    void aLayerWithoutItsMlpBeforeOneWithoutItsAttentionStaysTwoLayers() {
        // On the stream, layer 4's attention is followed directly by layer 5's MLP, as in one whole layer.
        ModelProto dropped = SubBlockRemoval.drop(model, map, Set.of(SubBlock.mlp(4), SubBlock.attention(5)));
        StructureMap remapped = StructureDetector.detect(dropped);
        assertEquals(12, remapped.layerCount());
        assertNull(remapped.layer(4).mlp());
        assertNull(remapped.layer(5).attention());
        assertEquals(map.layer(5).mlp().down().weight(), remapped.layer(5).mlp().down().weight());
        // Without the record the edit keeps, the graph reads as 11 layers.
        assertEquals(11, StructureDetector.detect(dropped.toBuilder().clearMetadataProps().build()).layerCount());

        // A whole layer gone moves the later ones up; each still knows its origin, through later edits too.
        ModelProto noLayer = SubBlockRemoval.dropLayer(dropped, remapped, 1);
        StructureMap shifted = StructureDetector.detect(HeadPruning.pruneHeads(noLayer, StructureDetector.detect(noLayer),
                0, Set.of(3)));
        assertEquals(11, shifted.layerCount());
        assertEquals(List.of(0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
                shifted.layers().stream().map(TransformerLayer::origin).toList());
        assertNull(shifted.layer(3).mlp(), "origin 4");
        assertNull(shifted.layer(4).attention(), "origin 5");
        Map<String, Object> gated = new HashMap<>(inputs);
        for (String gate : List.of(search.attentionGates().get(1), search.mlpGates().get(1), search.mlpGates().get(4),
                search.attentionGates().get(5))) {
            gated.put(gate, new FloatInput(new float[] {0}, new long[] {1}));
        }
        assertClose(OrtRunner.run(search, gated).get(OUTPUT), OrtRunner.run(noLayer, inputs).get(OUTPUT));
    }

    @Test
    void pruningEveryHeadRemovesTheSubBlock() {
        Set<Integer> all = new TreeSet<>();
        for (int h = 0; h < 12; h++) {
            all.add(h);
        }
        ModelProto pruned = HeadPruning.pruneHeads(model, map, 2, all);
        assertNull(StructureDetector.detect(pruned).layer(2).attention());
        assertThrows(IllegalArgumentException.class, () -> HeadPruning.pruneHeads(model, map, 2, Set.of(12)));
    }

    @Test
    void replacedWeightsEqualOverriddenSearchInputs() {
        Projection down = map.layer(4).mlp().down();
        FMatrixRMaj weight = TensorData.matrix(model.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals(down.weight())).findFirst().orElseThrow());
        FMatrixRMaj scaled = weight.copy();
        for (int i = 0; i < scaled.data.length; i++) {
            scaled.data[i] *= (i % 3 == 0) ? 0f : 1.5f;
        }
        ModelProto replaced = WeightRewrite.replace(model, down, scaled, null);
        SearchGraph overridable = SearchGraphBuilder.of(model, map).overridableWeights(down.weight()).build();
        Map<String, Object> fed = new HashMap<>(inputs);
        fed.put(down.weight(), new FloatInput(scaled.data, new long[] {scaled.numRows, scaled.numCols}));
        float[] viaInput = OrtRunner.run(overridable, fed).get(OUTPUT);
        assertClose(viaInput, OrtRunner.run(replaced, inputs).get(OUTPUT));
        assertTrue(OrtRunner.maxAbsDiff(viaInput, OrtRunner.run(model, inputs).get(OUTPUT)) > 1e-3);
        assertThrows(IllegalArgumentException.class,
                () -> WeightRewrite.replace(model, down, new FMatrixRMaj(3, 3), null));
    }

    @Test
    void editedShapesHoldUnderEveryOptimisationLevel() {
        ModelProto edited = HeadPruning.pruneHeads(model, map, 1, Set.of(0, 3));
        edited = ChannelPruning.pruneChannels(edited, StructureDetector.detect(edited), 1, randomSubset(1536, 768, 3));
        edited = SubBlockRemoval.dropAttention(edited, StructureDetector.detect(edited), 9);
        float[] reference = OrtRunner.run(edited, inputs, OptLevel.NO_OPT).get(OUTPUT);
        assertEquals(2 * 12 * 384, reference.length);
        for (OptLevel level : new OptLevel[] {OptLevel.BASIC_OPT, OptLevel.EXTENDED_OPT, OptLevel.ALL_OPT}) {
            assertClose(reference, OrtRunner.run(edited, inputs, level).get(OUTPUT));
        }
    }

    private static Map<String, Object> with(String input, float[] value) {
        Map<String, Object> fed = new LinkedHashMap<>(inputs);
        fed.put(input, new FloatInput(value, new long[] {value.length}));
        return fed;
    }

    static float[] mask(int size, Set<Integer> zeros) {
        float[] mask = new float[size];
        Arrays.fill(mask, 1f);
        zeros.forEach(i -> mask[i] = 0f);
        return mask;
    }

    static Set<Integer> randomSubset(int size, int count, long seed) {
        Random random = new Random(seed);
        Set<Integer> subset = new TreeSet<>();
        while (subset.size() < count) {
            subset.add(random.nextInt(size));
        }
        return subset;
    }

    static void assertClose(float[] expected, float[] actual) {
        double diff = OrtRunner.maxAbsDiff(expected, actual);
        assertTrue(diff <= TOLERANCE, "max |difference| " + diff + " exceeds " + TOLERANCE);
    }
}
