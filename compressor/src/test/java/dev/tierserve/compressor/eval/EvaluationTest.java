package dev.tierserve.compressor.eval;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.runtime.RuntimeSettings;
import dev.tierserve.compressor.synthetic.DecoderBuilder;
import dev.tierserve.compressor.synthetic.DecoderConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
