package dev.tierserve.compressor.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.baseline.MagnitudePruning;
import dev.tierserve.compressor.method.ziplm.ZipLm;
import dev.tierserve.compressor.method.ziplm.ZipLmOptions;
import dev.tierserve.compressor.method.ziplm.ZipLmResult;
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
 * ZipLM on BGE-small, CPU, one thread, batch 1 x seq 128, tiers 1.5x / 2x / 3x, beside the naive baselines:
 * magnitude pruning to exactly ZipLM's per-block sizes (same shapes, same speed, no weight update) and dropping
 * the last layers. Run: {@code mvn -B -DskipTests install && mvn -B -pl compressor -Pbenchmark test
 * -Dtest=ZipLmBenchmark}; writes {@code compressor/target/benchmarks/ziplm-bge.{json,png}}.
 */
@Tag("benchmark")
class ZipLmBenchmark {

    @Test
    void bgeSmallTiers() throws Exception {
        long start = System.nanoTime();
        ModelProto parent = TestModels.load(TestModels.BGE_SMALL);
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 128);
        ZipLmOptions options = ZipLmOptions.defaults();
        List<TextSample> brown = BrownCorpus.bundled();
        List<TextSample> texts = BenchmarkTexts.calibration(brown, options.calibrationTexts());
        List<EncodedBatch> calibration;
        EncodedBatch timing;
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.BGE_TOKENIZER),
                options.calibrationSequence());
             BatchTokenizer timingTokenizer = new BatchTokenizer(TestModels.file(TestModels.BGE_TOKENIZER), 128)) {
            calibration = tokenizer.encodeAll(texts, 16);
            timing = timingTokenizer.encode(List.of(texts.get(0).text()));
        }
        MethodContext context = MethodContext.builder(parent, settings).calibration(calibration).timing(timing)
                .log(System.out::println).build();
        context.latencyTable();
        System.out.printf(Locale.ROOT, "component latency table in %.1f s%n", (System.nanoTime() - start) / 1e9);
        List<ZipLmResult> results = new ZipLm(options).compress(context, List.of(1.5, 2.0, 3.0)).results();
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "ZipLM: all three tiers of BGE-small in %.1f s (%.1f min), %d calibration texts "
                + "(Hessians from the first %d)%n", seconds, seconds / 60, options.calibrationTexts(),
                options.hessianTexts());

        List<Evaluation.Model> models = new ArrayList<>();
        for (ZipLmResult result : results) {
            String tier = result.targetSpeedup() + "x";
            System.out.printf(Locale.ROOT, "ZipLM %s: %s%n", tier, result.plan());
            models.add(new Evaluation.Model("ZipLM " + tier, result.model()));
            models.add(new Evaluation.Model("ZipLM " + tier + " before its refit", result.obsOnly()));
            models.add(new Evaluation.Model("magnitude " + tier, MagnitudePruning.prune(parent, result.heads(),
                    result.channels())));
            int drop = (int) Math.ceil(12 * (1 - 1 / result.targetSpeedup()));
            models.add(new Evaluation.Model("drop last " + drop + " layers", SubBlockRemoval.dropLastLayers(parent, drop)));
        }
        EvaluationReport report = Evaluation.builder(settings).rounds(20).evaluationSequence(128).trainTexts(1000)
                .testTexts(300).pooling(Pooling.CLS).normalize(true)
                .build().evaluate(new Evaluation.Model("bge-small-en-v1.5", parent),
                        models, TestModels.file(TestModels.BGE_TOKENIZER), brown, "brown");
        System.out.printf(Locale.ROOT, "%n%s", report.render());
        Path out = Path.of("target/benchmarks");
        Files.createDirectories(out);
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("ziplm-bge.json").toFile(), report);
        QualitySpeedupChart.write(report, out.resolve("ziplm-bge.png"));
    }
}
