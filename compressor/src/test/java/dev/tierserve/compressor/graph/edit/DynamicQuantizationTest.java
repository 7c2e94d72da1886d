package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.tierserve.compressor.OrtRunner;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The int8 pass on the real all-MiniLM-L6 export: what it rewrites, that the result runs, and how far it drifts. */
class DynamicQuantizationTest {

    private static final String OUTPUT = "last_hidden_state";
    private static final int HIDDEN = 384;

    @Test
    void everyProjectionBecomesAnIntegerMatMulWithSevenBitWeights() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        DynamicQuantization.Result result = DynamicQuantization.quantize(parent);

        int layers = StructureDetector.detect(parent).layerCount();
        assertEquals(6 * layers, result.quantized(), "q, k, v, output, up and down of every layer");
        MutableGraph graph = new MutableGraph(result.model());
        assertEquals(result.quantized(), graph.nodes().stream().filter(n -> n.getOpType().equals("MatMulInteger"))
                .count());
        assertEquals(result.skipped(), graph.nodes().stream().filter(n -> n.getOpType().equals("MatMul")).count(),
                "only the activation x activation MatMuls of attention stay float");
        for (NodeProto node : graph.nodes()) {
            if (node.getOpType().equals("MatMulInteger")) {
                TensorProto weight = graph.initializer(node.getInput(1)).orElseThrow();
                assertEquals(TensorProto.DataType.INT8_VALUE, weight.getDataType());
                for (byte b : weight.getRawData().toByteArray()) {
                    assertTrue(b >= -DynamicQuantization.REDUCED_RANGE && b <= DynamicQuantization.REDUCED_RANGE,
                            "weight " + b + " outside the saturation-safe range");
                }
            }
        }
        assertTrue(graph.initializers().stream().noneMatch(t -> t.getDataType() == TensorProto.DataType.FLOAT_VALUE
                        && t.getDimsCount() == 2 && t.getDims(0) == 384 && t.getDims(1) == 1536),
                "the float weights are gone");
        // Each float weight (4 bytes) becomes one byte; its scale and zero point per column are small beside it.
        long floatBytes = 4L * (4 * 384 * 384 + 2 * 384 * 1536) * layers;
        assertTrue(parent.getSerializedSize() - result.model().getSerializedSize() > 0.74 * floatBytes,
                "three quarters of the weights' bytes are gone");
    }

    @Test
    void theQuantizedModelKeepsShapesAndStaysCloseToTheFloatOneFusedOrAsWritten() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        ModelProto quantized = DynamicQuantization.quantize(parent).model();
        EncodedBatch batch;
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), 48)) {
            batch = tokenizer.encode(BrownCorpus.bundled().subList(0, 8).stream().map(TextSample::text).toList());
        }
        Map<String, Object> inputs = Map.of(
                "input_ids", new OrtRunner.LongInput(batch.inputIds(), batch.shape()),
                "attention_mask", new OrtRunner.LongInput(batch.attentionMask(), batch.shape()),
                "token_type_ids", new OrtRunner.LongInput(batch.tokenTypeIds(), batch.shape()));
        float[] expected = OrtRunner.run(parent, inputs).get(OUTPUT);

        for (OptLevel level : new OptLevel[] {OptLevel.BASIC_OPT, OptLevel.ALL_OPT}) {
            float[] actual = OrtRunner.run(quantized, inputs, level).get(OUTPUT);
            assertEquals(expected.length, actual.length, "same output shape");
            double minCosine = 1;
            double difference = 0;
            double energy = 0;
            for (int token = 0; token < expected.length / HIDDEN; token++) {
                if (batch.attentionMask()[token] == 0) {
                    continue;
                }
                double dot = 0;
                double a = 0;
                double b = 0;
                for (int c = 0; c < HIDDEN; c++) {
                    float x = expected[token * HIDDEN + c];
                    float y = actual[token * HIDDEN + c];
                    dot += x * y;
                    a += x * x;
                    b += y * y;
                    difference += (x - y) * (x - y);
                }
                energy += a;
                minCosine = Math.min(minCosine, dot / Math.sqrt(a * b));
            }
            System.out.printf("%s: min token cosine %.5f, relative error %.5f%n", level, minCosine,
                    difference / energy);
            assertTrue(minCosine > 0.95, level + ": every real token's state within cosine 0.95, got " + minCosine);
            assertTrue(difference / energy < 0.03, level + ": relative error " + difference / energy);
            for (int row = 0; row < batch.batch(); row++) {
                double cosine = cosine(meanPooled(expected, batch, row), meanPooled(actual, batch, row));
                assertTrue(cosine > 0.98, level + ": sentence " + row + "'s embedding at cosine " + cosine);
            }
        }
    }

    private static double[] meanPooled(float[] states, EncodedBatch batch, int row) {
        double[] sum = new double[HIDDEN];
        for (int t = 0; t < batch.sequence(); t++) {
            if (batch.attentionMask()[row * batch.sequence() + t] == 1) {
                for (int c = 0; c < HIDDEN; c++) {
                    sum[c] += states[(row * batch.sequence() + t) * HIDDEN + c];
                }
            }
        }
        return sum;
    }

    private static double cosine(double[] a, double[] b) {
        double dot = 0;
        double x = 0;
        double y = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            x += a[i] * a[i];
            y += b[i] * b[i];
        }
        return dot / Math.sqrt(x * y);
    }

    @Test
    void refusesAWeightRangeOutsideInt8() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        assertThrows(IllegalArgumentException.class, () -> DynamicQuantization.quantize(parent, 128));
        assertThrows(IllegalArgumentException.class, () -> DynamicQuantization.quantize(parent, 0));
    }
}
