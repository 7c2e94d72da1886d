package dev.tierserve.compressor.cli;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextFiles;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.eval.VariantResult;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.latency.ComponentLatencyMeter;
import dev.tierserve.compressor.latency.ComponentLatencyTable;
import dev.tierserve.compressor.method.ziplm.ZipLm;
import dev.tierserve.compressor.method.ziplm.ZipLmOptions;
import dev.tierserve.compressor.method.ziplm.ZipLmResult;
import dev.tierserve.compressor.runtime.RuntimeSettings;
import dev.tierserve.compressor.store.VariantManifest;
import dev.tierserve.compressor.store.VariantPublisher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "compress", description = "Compress a model to speedup tiers and publish one measured variant per "
        + "target into the variant store.")
final class CompressCommand implements Callable<Integer> {

    @Option(names = "--method", defaultValue = "ziplm", description = "ziplm (the other methods come in later issues)")
    String method;

    @Option(names = "--model", required = true, description = "the parent model.onnx (tokenizer.json beside it)")
    Path model;

    @Option(names = "--name", description = "the model's name in the store (default: its directory's name)")
    String name;

    @Option(names = "--targets", required = true, split = ",", description = "speedups, e.g. 1.5,2,3")
    List<Double> targets;

    @Option(names = "--calibration", defaultValue = "brown", description = "'brown' (bundled) or a .jsonl / text file")
    String calibration;

    @Option(names = "--calibration-texts", defaultValue = "256")
    int calibrationTexts;

    @Option(names = "--test-texts", defaultValue = "300", description = "held-out texts for the manifest's quality")
    int testTexts;

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu or cuda")
    String provider;

    @Option(names = "--batch", defaultValue = "1")
    int batch;

    @Option(names = "--seq", defaultValue = "128")
    int sequence;

    @Option(names = "--threads", defaultValue = "1")
    int threads;

    @Option(names = "--pooling", defaultValue = "mean", description = "cls or mean, for the encoder quality metrics")
    String pooling;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    @Option(names = "--out", defaultValue = "variants", description = "the variant store root")
    Path out;

    @Override
    public Integer call() {
        if (!method.equals("ziplm")) {
            System.err.println("unknown method '" + method + "'; available: ziplm");
            return 2;
        }
        long start = System.nanoTime();
        String modelName = name != null ? name : model.toAbsolutePath().getParent().getFileName().toString();
        ModelProto parent = OnnxModelReader.read(model);
        boolean synthetic = StructureDetector.isSynthetic(parent);
        Path tokenizer = model.toAbsolutePath().resolveSibling("tokenizer.json");
        List<TextSample> samples = calibration.equals("brown") ? BrownCorpus.bundled()
                : TextFiles.read(Path.of(calibration));
        RuntimeSettings settings = new RuntimeSettings(RuntimeSettings.Provider.valueOf(provider.toUpperCase(Locale.ROOT)),
                threads, batch, sequence);
        ZipLmOptions options = ZipLmOptions.defaults();
        options = options.withCalibration(calibrationTexts, options.calibrationSequence(), options.scoringTexts());
        DataSplits splits = DataSplits.of(samples, seed, calibrationTexts, 0, 0);
        List<EncodedBatch> batches;
        EncodedBatch timing;
        try (BatchTokenizer calibrationTokenizer = new BatchTokenizer(tokenizer, options.calibrationSequence());
             BatchTokenizer timingTokenizer = new BatchTokenizer(tokenizer, sequence)) {
            batches = calibrationTokenizer.encodeAll(splits.calibration(), 16);
            timing = timingTokenizer.encode(splits.calibration().subList(0, batch).stream().map(TextSample::text).toList());
        }
        ComponentLatencyTable table = new ComponentLatencyMeter(settings, 5, 20)
                .loadOrMeasure(parent, timing, out.resolve(".latency-tables"));
        List<ZipLmResult> results = new ZipLm(settings, options, System.out::println)
                .compress(parent, targets, batches, timing, table);

        List<Evaluation.Model> variants = new ArrayList<>();
        for (ZipLmResult result : results) {
            variants.add(new Evaluation.Model(tier(result.targetSpeedup()), result.model()));
        }
        int trainTexts = Math.max(calibrationTexts, 1000);
        EvaluationReport report = Evaluation.builder(settings).trainTexts(trainTexts).testTexts(testTexts).seed(seed)
                .pooling(Pooling.valueOf(pooling.toUpperCase(Locale.ROOT))).build()
                .evaluate(new Evaluation.Model(modelName, parent), variants, tokenizer, samples, calibration);
        System.out.print(report.render());

        VariantPublisher publisher = new VariantPublisher(out);
        String parentSha = VariantPublisher.sha256(parent);
        for (int i = 0; i < results.size(); i++) {
            ZipLmResult result = results.get(i);
            VariantResult quality = report.results().get(i + 1);
            String id = "ziplm-" + tier(result.targetSpeedup()) + "-" + VariantPublisher.sha256(result.model()).substring(0, 8);
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put("calibrationTexts", options.calibrationTexts());
            parameters.put("calibrationSequence", options.calibrationSequence());
            parameters.put("calibrationData", calibration);
            parameters.put("dampening", options.dampening());
            parameters.put("generations", options.generations());
            parameters.put("offspring", options.offspring());
            parameters.put("attempts", result.attempts());
            parameters.put("calibrationLoss", result.calibrationLoss());
            parameters.put("seconds", result.seconds());
            Path published = publisher.publish(modelName, id, result.model(), sha -> new VariantManifest(id, modelName,
                    parentSha, "ziplm", parameters, result.targetSpeedup(), result.measuredSpeedup(),
                    new VariantManifest.Latency(result.parentMs(), result.variantMs(), settings, 5, 20),
                    new VariantManifest.Quality(calibration, report.testTexts(), quality.encoder(), quality.decoder()),
                    result.plan(), sha, Instant.now().toString(), synthetic));
            System.out.printf(Locale.ROOT, "published %s: measured %.2fx for target %.2fx%n", published,
                    result.measuredSpeedup(), result.targetSpeedup());
        }
        System.out.printf(Locale.ROOT, "compression took %.1f s%n", (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private static String tier(double speedup) {
        return (speedup == Math.rint(speedup) ? String.valueOf((long) speedup) : String.valueOf(speedup)) + "x";
    }
}
