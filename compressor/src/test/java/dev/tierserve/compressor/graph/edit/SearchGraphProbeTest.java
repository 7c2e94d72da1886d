package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.OrtRunner;
import dev.tierserve.compressor.OrtRunner.FloatInput;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.graph.search.SearchGraph.Probe;
import dev.tierserve.compressor.graph.search.SearchGraphBuilder;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Probes expose the activations the methods need, and adding them changes nothing else. */
class SearchGraphProbeTest {

    @Test
    void probesExposeBlockInputsContextsAndActivations() {
        ModelProto model = TestModels.load(TestModels.MINILM);
        StructureMap map = StructureDetector.detect(model);
        SearchGraph search = SearchGraphBuilder.of(model, map).headMasks().channelMasks()
                .probe(Probe.Kind.values()).build();
        assertEquals(6 * Probe.Kind.values().length, search.probes().size());

        int batch = 2;
        int seq = 7;
        Map<String, Object> inputs = new LinkedHashMap<>(OrtRunner.encoderInputs(batch, seq, 0, 3));
        float[] headMask = EncoderEditInvariantsTest.mask(12, java.util.Set.of(2));
        float[] channelMask = EncoderEditInvariantsTest.mask(1536, java.util.Set.of(0, 1535));
        inputs.put(search.headMasks().get(1), new FloatInput(headMask, new long[] {12}));
        inputs.put(search.channelMasks().get(4), new FloatInput(channelMask, new long[] {1536}));
        Map<String, float[]> out = OrtRunner.run(search, inputs);

        // Layer 0 reads the embedding stream; layer 1's attention reads layer 0's output (post-norm).
        int tokens = batch * seq;
        assertEquals(tokens * 384, out.get(SearchGraph.probeName(0, Probe.Kind.ATTENTION_INPUT)).length);
        ModelProto firstLayerOnly = SubBlockRemoval.dropLastLayers(model, 5);
        EncoderEditInvariantsTest.assertClose(OrtRunner.run(firstLayerOnly, inputs).get("last_hidden_state"),
                out.get(SearchGraph.probeName(1, Probe.Kind.ATTENTION_INPUT)));

        // The masked head's 32 context columns are zero in every token; the others are not.
        float[] context = out.get(SearchGraph.probeName(1, Probe.Kind.ATTENTION_CONTEXT));
        assertEquals(tokens * 384, context.length);
        double masked = 0;
        double kept = 0;
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < 384; c++) {
                double v = Math.abs(context[t * 384 + c]);
                if (c / 32 == 2) {
                    masked += v;
                } else {
                    kept += v;
                }
            }
        }
        assertEquals(0.0, masked);
        assertTrue(kept > 0);

        float[] activation = out.get(SearchGraph.probeName(4, Probe.Kind.MLP_ACTIVATION));
        assertEquals(tokens * 1536, activation.length);
        for (int t = 0; t < tokens; t++) {
            assertEquals(0f, Math.abs(activation[t * 1536]));
            assertEquals(0f, Math.abs(activation[t * 1536 + 1535]));
        }
        // The final output equals the plain model with the same heads and channels removed.
        ModelProto pruned = HeadPruning.pruneHeads(model, map, 1, java.util.Set.of(2));
        pruned = ChannelPruning.pruneChannels(pruned, StructureDetector.detect(pruned), 4, java.util.Set.of(0, 1535));
        EncoderEditInvariantsTest.assertClose(OrtRunner.run(pruned, OrtRunner.encoderInputs(batch, seq, 0, 3))
                .get("last_hidden_state"), out.get("last_hidden_state"));
    }
}
