package dev.tierserve.compressor.calib;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.graph.search.SearchGraph.Probe;
import dev.tierserve.compressor.graph.search.SearchGraphBuilder;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.store.RuntimeSettings;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CalibrationRunnerTest {

    /** Keeps every batch's activation, to check the streaming collectors against a direct computation. */
    private static final class Recorder implements ActivationCollector {
        private final String output;
        private final List<double[]> rows = new java.util.ArrayList<>();

        Recorder(String output) {
            this.output = output;
        }

        @Override
        public Set<String> outputs() {
            return Set.of(output);
        }

        @Override
        public void accept(Map<String, Activation> outputs, EncodedBatch batch) {
            Activation a = outputs.get(output);
            a.forEachRealToken(batch, (offset, token) -> {
                double[] row = new double[a.width()];
                for (int c = 0; c < row.length; c++) {
                    row[c] = a.values()[offset + c];
                }
                rows.add(row);
            });
        }
    }

    @Test
    void streamingStatisticsEqualDirectOnesOverRealTokensOnly() {
        ModelProto model = TestModels.load(TestModels.MINILM);
        SearchGraph search = SearchGraphBuilder.of(model, StructureDetector.detect(model)).headMasks()
                .probe(Probe.Kind.ATTENTION_CONTEXT, Probe.Kind.MLP_ACTIVATION).gram(Probe.Kind.ATTENTION_CONTEXT).build();
        List<EncodedBatch> batches;
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), 24)) {
            batches = List.of(tokenizer.encode(List.of("short one", "a somewhat longer sentence about the weather")),
                    tokenizer.encode(List.of("third text here", "and a fourth", "plus a fifth sentence")));
        }
        int realTokens = batches.stream().mapToInt(EncodedBatch::realTokens).sum();
        assertTrue(realTokens < 5 * 24, "the batches contain padding");

        String context = SearchGraph.probeName(2, Probe.Kind.ATTENTION_CONTEXT);
        String activation = SearchGraph.probeName(2, Probe.Kind.MLP_ACTIVATION);
        GramCollector gram = new GramCollector(context);
        GramCollector runtimeGram = new GramCollector(SearchGraph.gramName(2, Probe.Kind.ATTENTION_CONTEXT));
        ChannelRmsCollector rms = new ChannelRmsCollector(activation);
        Recorder contexts = new Recorder(context);
        Recorder activations = new Recorder(activation);
        new CalibrationRunner(RuntimeSettings.Provider.CPU, 1).run(search.model(), search.defaults(), batches,
                List.of(gram, runtimeGram, rms, contexts, activations));

        assertEquals(realTokens, gram.tokens());
        assertEquals(realTokens, contexts.rows.size());
        DMatrixRMaj h = gram.gram();
        assertEquals(384, h.numRows);
        double maxError = 0;
        for (int i = 0; i < 384; i += 7) {
            for (int j = 0; j < 384; j += 5) {
                double direct = 0;
                for (double[] row : contexts.rows) {
                    direct += row[i] * row[j];
                }
                maxError = Math.max(maxError, Math.abs(direct - h.get(i, j)));
            }
        }
        assertTrue(maxError < 1e-9, "streamed Gram differs by " + maxError);
        assertEquals(2.0 / realTokens * h.get(3, 4), gram.hessian().get(3, 4), 1e-15);

        // The same sums computed by ONNX Runtime in double inside the search graph, padding masked out.
        assertEquals(realTokens, runtimeGram.tokens());
        double runtimeError = 0;
        for (int i = 0; i < h.data.length; i++) {
            runtimeError = Math.max(runtimeError, Math.abs(h.data[i] - runtimeGram.gram().data[i]));
        }
        assertTrue(runtimeError < 1e-9, "runtime Gram differs by " + runtimeError);

        double[] channelRms = rms.rms();
        for (int c : new int[] {0, 100, 1535}) {
            double direct = 0;
            for (double[] row : activations.rows) {
                direct += row[c] * row[c];
            }
            assertEquals(Math.sqrt(direct / realTokens), channelRms[c], 1e-9);
        }
    }
}
