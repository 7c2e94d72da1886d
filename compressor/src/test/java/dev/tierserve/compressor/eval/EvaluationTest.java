package dev.tierserve.compressor.eval;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.synthetic.DecoderBuilder;
import dev.tierserve.compressor.synthetic.DecoderConfig;
import dev.tierserve.store.DecoderQuality;
import dev.tierserve.store.EncoderQuality;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvaluationTest {

    private static final RuntimeSettings LATENCY = RuntimeSettings.cpu(1, 1, 32);

    private static Evaluation evaluation() {
        return Evaluation.builder(LATENCY).warmupRuns(1).rounds(3).evaluationSequence(32).evaluationBatch(16)
                .trainTexts(120).testTexts(60).pooling(Pooling.MEAN).build();
    }

    @Test
    void encoderParentAgainstItselfIsExactAndADroppedLayerScoresLower() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        ModelProto dropped = SubBlockRemoval.dropLayer(parent, StructureDetector.detect(parent), 3);
        EvaluationReport report = evaluation().evaluate(new Evaluation.Model("parent", parent),
                List.of(new Evaluation.Model("parent again", parent), new Evaluation.Model("layer 3 dropped", dropped)),
                TestModels.file(TestModels.MINILM_TOKENIZER), BrownCorpus.bundled(), "brown");
        System.out.print(report.render());

        for (VariantResult self : report.results().subList(0, 2)) {
            EncoderQuality q = self.encoder();
            assertEquals(1.0, q.meanCosine(), 1e-12);
            assertEquals(1.0, q.p5Cosine(), 1e-12);
            assertEquals(1.0, q.retrievalAgreement());
            assertEquals(q.parentAccuracy(), q.variantAccuracy());
        }
        EncoderQuality worse = report.results().get(2).encoder();
        assertTrue(worse.meanCosine() < 1.0 - 1e-4, "cosine " + worse.meanCosine());
        assertTrue(worse.p5Cosine() < worse.meanCosine());
        assertTrue(worse.retrievalAgreement() < 1.0, "agreement " + worse.retrievalAgreement());
        assertTrue(worse.parentAccuracy() > 1.0 / 15, "the classifier beats chance: " + worse.parentAccuracy());
        assertEquals(60, report.testTexts());
    }

    @Test
    void normalisingHidesTheEmbeddingsScaleFromTheClassifier() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        // The parent with its output multiplied by 0.001: the same embedding directions, a thousandth of the length.
        List<Evaluation.Model> shrunk = List.of(new Evaluation.Model("output x 0.001", scaledOutput(parent, 0.001f)));
        for (boolean normalize : new boolean[] {false, true}) {
            EvaluationReport report = Evaluation.builder(LATENCY).warmupRuns(1).rounds(1).evaluationSequence(32)
                    .trainTexts(120).testTexts(60).pooling(Pooling.MEAN).normalize(normalize).build()
                    .evaluate(new Evaluation.Model("parent", parent), shrunk,
                            TestModels.file(TestModels.MINILM_TOKENIZER), BrownCorpus.bundled(), "brown");
            System.out.print(report.render());
            assertEquals(normalize, report.normalize());
            assertEquals(normalize, report.render().contains("mean pooling, L2-normalised"));
            EncoderQuality q = report.results().get(1).encoder();
            assertEquals(1.0, q.meanCosine(), 1e-6, "cosine is scale-invariant");
            assertEquals(1.0, q.retrievalAgreement(), "so are neighbours by cosine");
            if (normalize) {
                assertEquals(q.parentAccuracy(), q.variantAccuracy(), "the classifier sees the same unit vectors");
            } else {
                assertNotEquals(q.parentAccuracy(), q.variantAccuracy(), "the classifier sees the shorter vectors");
            }
        }
    }

    /** {@code model} with its first output multiplied by {@code factor} (one Mul node at the end). */
    private static ModelProto scaledOutput(ModelProto model, float factor) {
        GraphProto.Builder graph = model.getGraph().toBuilder();
        String output = graph.getOutput(0).getName();
        for (NodeProto.Builder node : graph.getNodeBuilderList()) {
            for (int i = 0; i < node.getOutputCount(); i++) {
                if (node.getOutput(i).equals(output)) {
                    node.setOutput(i, output + "_unscaled");
                }
            }
        }
        graph.addInitializer(TensorData.floatTensor("output_scale", new long[0], new float[] {factor}));
        graph.addNode(NodeProto.newBuilder().setOpType("Mul").setName("scale_output")
                .addInput(output + "_unscaled").addInput("output_scale").addOutput(output));
        return model.toBuilder().setGraph(graph).build();
    }

    @Test
    void decoderParentAgainstItselfHasZeroDivergence() {
        ModelProto parent = DecoderBuilder.build(DecoderConfig.llama());
        ModelProto dropped = SubBlockRemoval.dropLayer(parent, StructureDetector.detect(parent), 1);
        EvaluationReport report = evaluation().evaluate(new Evaluation.Model("parent", parent),
                List.of(new Evaluation.Model("layer 1 dropped", dropped)),
                TestModels.file(TestModels.MINILM_TOKENIZER), BrownCorpus.bundled(), "brown");
        System.out.print(report.render());
        assertTrue(report.synthetic());
        assertTrue(report.render().contains("SYNTHETIC"));
        DecoderQuality self = report.results().get(0).decoder();
        assertEquals(0.0, self.meanKl());
        assertEquals(self.parentPerplexity(), self.variantPerplexity());
        DecoderQuality worse = report.results().get(1).decoder();
        assertTrue(worse.meanKl() > 0, "KL " + worse.meanKl());
        assertTrue(worse.positions() > 100);
    }
}
