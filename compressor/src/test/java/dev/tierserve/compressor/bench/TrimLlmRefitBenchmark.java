package dev.tierserve.compressor.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.Batches;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.recovery.OutputProjectionRefit;
import dev.tierserve.compressor.method.trimllm.TrimLlm;
import dev.tierserve.compressor.method.trimllm.TrimLlmOptions;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether the output-projection refit pays on top of TrimLLM's layer dropping: BGE-small, CPU, one thread, batch 1 x
 * seq 128, tiers 1.5x and 2x, TrimLLM's plain and affine-corrected forms each with and without a refit of the
 * remaining sub-blocks' output projections on TrimLLM's own calibration texts; 300 held-out Brown texts. Run:
 * {@code mvn -B -DskipTests install && mvn -B -pl compressor -Pbenchmark test -Dtest=TrimLlmRefitBenchmark}.
 */
@Tag("benchmark")
class TrimLlmRefitBenchmark {

    @Test
    void bgeSmallTiers() {
        ModelProto parent = TestModels.load(TestModels.BGE_SMALL);
        Path tokenizer = TestModels.file(TestModels.BGE_TOKENIZER);
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 128);
        List<TextSample> brown = BrownCorpus.bundled();
        EncodedBatch timing = BenchmarkTexts.timing(tokenizer, brown);
        // TrimLLM without its refit, which this benchmark then applies itself, so both are evaluated side by side.
        TrimLlmOptions options = TrimLlmOptions.defaults().withRefitRidge(0);
        List<EncodedBatch> calibration = BenchmarkTexts.encoded(tokenizer, brown, options.calibrationTexts(),
                options.calibrationSequence());
        List<CompressedVariant> variants = new TrimLlm(options)
                .compress(BenchmarkTexts.context(parent, settings, tokenizer, brown, timing), List.of(1.5, 2.0))
                .variants();
        OutputProjectionRefit refit = new OutputProjectionRefit(new CalibrationRunner(settings.provider(),
                settings.calibrationThreads()), OutputProjectionRefit.DEFAULT_RIDGE, System.out::println);
        List<Evaluation.Model> models = new ArrayList<>();
        for (CompressedVariant variant : variants) {
            String name = variant.method() + " " + variant.targetSpeedup() + "x";
            models.add(new Evaluation.Model(name, variant.model()));
            models.add(new Evaluation.Model(name + " + refit", refit.refit(variant.model(), parent,
                    Batches.packedByLength(calibration, 16))));
        }
        EvaluationReport report = Evaluation.builder(settings).rounds(20).evaluationSequence(128).trainTexts(1000)
                .testTexts(300).pooling(Pooling.CLS).normalize(true).build()
                .evaluate(new Evaluation.Model("bge-small-en-v1.5", parent), models, tokenizer, brown, "brown");
        System.out.print(report.render());
    }
}
