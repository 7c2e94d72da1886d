package dev.tierserve.compressor.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.Batches;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.baseline.MagnitudePruning;
import dev.tierserve.compressor.method.bonsai.Bonsai;
import dev.tierserve.compressor.method.bonsai.BonsaiOptions;
import dev.tierserve.compressor.method.bonsai.BonsaiResult;
import dev.tierserve.compressor.method.recovery.OutputProjectionRefit;
import dev.tierserve.compressor.method.ziplm.ZipLm;
import dev.tierserve.compressor.method.ziplm.ZipLmOptions;
import dev.tierserve.compressor.report.QualitySpeedupChart;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Bonsai on BGE-small, CPU, one thread, batch 1 x seq 128, tiers 1.5x and 2x, with and without the output-projection
 * refit (Bonsai's default refits), beside ZipLM's variants and the magnitude baseline at Bonsai's own per-layer sizes
 * (same shapes, same speed). Run:
 * {@code mvn -B -DskipTests install && mvn -B -pl compressor -Pbenchmark test -Dtest=BonsaiBenchmark}; writes
 * {@code compressor/target/benchmarks/bonsai-bge.{json,png}}.
 */
@Tag("benchmark")
class BonsaiBenchmark {

    @Test
    void bgeSmallTiers() throws Exception {
        ModelProto parent = TestModels.load(TestModels.BGE_SMALL);
        Path tokenizer = TestModels.file(TestModels.BGE_TOKENIZER);
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 128);
        List<TextSample> brown = BrownCorpus.bundled();
        List<Double> targets = List.of(1.5, 2.0);
        EncodedBatch timing = BenchmarkTexts.timing(tokenizer, brown);

        // Bonsai without its refit, which this benchmark then applies itself, so both forms are evaluated side by side.
        BonsaiOptions options = BonsaiOptions.defaults().withRefitRidge(0);
        List<EncodedBatch> calibration = BenchmarkTexts.encoded(tokenizer, brown,
                Math.max(options.scoringTexts(), options.priorTexts()), options.sequence());
        long start = System.nanoTime();
        MethodContext context = BenchmarkTexts.context(parent, settings, tokenizer, brown, timing);
        BonsaiResult bonsai = new Bonsai(options).compress(context, targets);
        double bonsaiSeconds = (System.nanoTime() - start) / 1e9;
        OutputProjectionRefit refit = new OutputProjectionRefit(new CalibrationRunner(settings.provider(),
                settings.calibrationThreads()), OutputProjectionRefit.DEFAULT_RIDGE, System.out::println);

        start = System.nanoTime();
        ZipLmOptions zipOptions = ZipLmOptions.defaults();
        List<Evaluation.Model> models = new ArrayList<>();
        for (CompressedVariant variant : bonsai.variants()) {
            String tier = variant.targetSpeedup() + "x";
            models.add(new Evaluation.Model("Bonsai " + tier, variant.model()));
            models.add(new Evaluation.Model("Bonsai + refit " + tier, refit.refit(variant.model(), parent,
                    Batches.packedByLength(calibration, 16))));
            StructureMap map = StructureDetector.detect(variant.model());
            int[] heads = map.layers().stream().mapToInt(l -> l.attention() == null ? 0 : l.attention().heads()).toArray();
            int[] channels = map.layers().stream().mapToInt(l -> l.mlp() == null ? 0 : l.mlp().intermediateSize())
                    .toArray();
            models.add(new Evaluation.Model("magnitude at Bonsai's sizes " + tier,
                    MagnitudePruning.prune(parent, heads, channels)));
        }
        new ZipLm(zipOptions).compress(context, targets).results()
                .forEach(r -> models.add(new Evaluation.Model("ZipLM " + r.targetSpeedup() + "x", r.model())));
        double zipSeconds = (System.nanoTime() - start) / 1e9;

        EvaluationReport report = Evaluation.builder(settings).rounds(20).evaluationSequence(128).trainTexts(1000)
                .testTexts(300).pooling(Pooling.CLS).normalize(true)
                .build().evaluate(new Evaluation.Model("bge-small-en-v1.5", parent),
                        models, tokenizer, brown, "brown");
        System.out.printf(Locale.ROOT, "%nBonsai: both tiers in %.1f min (%d rounds); ZipLM both tiers in %.1f min%n",
                bonsaiSeconds / 60, bonsai.rounds().size(), zipSeconds / 60);
        bonsai.variants().forEach(v -> System.out.printf(Locale.ROOT, "Bonsai %sx: %s%n", v.targetSpeedup(),
                v.structure()));
        System.out.print(report.render());
        Path out = Files.createDirectories(Path.of("target/benchmarks"));
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("bonsai-bge.json").toFile(), report);
        QualitySpeedupChart.write(report, out.resolve("bonsai-bge.png"));
    }
}
