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
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.Unreached;
import dev.tierserve.compressor.method.bonsai.Bonsai;
import dev.tierserve.compressor.method.bonsai.BonsaiOptions;
import dev.tierserve.compressor.method.bonsai.BonsaiResult;
import dev.tierserve.compressor.method.parallel.LayerParallelSearch;
import dev.tierserve.compressor.method.parallel.ParallelOptions;
import dev.tierserve.compressor.method.parallel.ParallelResult;
import dev.tierserve.compressor.method.trimllm.TrimLlm;
import dev.tierserve.compressor.method.trimllm.TrimLlmOptions;
import dev.tierserve.compressor.method.trimllm.TrimLlmResult;
import dev.tierserve.compressor.method.ziplm.ZipLm;
import dev.tierserve.compressor.method.ziplm.ZipLmOptions;
import dev.tierserve.compressor.runtime.RuntimeSettings;
import dev.tierserve.compressor.store.UnreachedTarget;
import dev.tierserve.compressor.store.VariantManifest;
import dev.tierserve.compressor.store.VariantPublisher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "compress", description = "Compress a model to speedup tiers and publish one measured variant per "
        + "target into the variant store.")
final class CompressCommand implements Callable<Integer> {

    @Option(names = "--method", defaultValue = "ziplm", description = "ziplm, trimllm, parallel or bonsai")
    String method;

    @Option(names = "--model", required = true, description = "the parent model.onnx (tokenizer.json beside it)")
    Path model;

    @Option(names = "--name", description = "the model's name in the store (default: its directory's name)")
    String name;

    @Option(names = "--targets", required = true, split = ",", description = "speedups, e.g. 1.5,2,3")
    List<Double> targets;

    @Option(names = "--calibration", defaultValue = "brown", description = "'brown' (bundled) or a .jsonl / text file: "
            + "the domain TrimLLM keeps")
    String calibration;

    @Option(names = "--calibration-texts",
            description = "default: the method's own (ziplm 256, trimllm 128, parallel 64, bonsai 64)")
    Integer calibrationTexts;

    @Option(names = "--test-texts", defaultValue = "300", description = "held-out texts for the manifest's quality")
    int testTexts;

    @Mixin
    RuntimeOptions runtime;

    @Option(names = "--no-recovery", description = "trimllm: skip the affine recovery")
    boolean noRecovery;

    @Option(names = "--pooling", defaultValue = "mean", description = "cls or mean, for the encoder quality metrics")
    String pooling;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    @Option(names = "--out", defaultValue = "variants", description = "the variant store root")
    Path out;

    /** What a method produced: variants that reached their targets, and targets it could not reach. */
    private record Outcome(List<CompressedVariant> variants, List<Unreached> unreached) {
    }

    @Override
    public Integer call() {
        if (!List.of("ziplm", "trimllm", "parallel", "bonsai").contains(method)) {
            System.err.println("unknown method '" + method + "'; available: ziplm, trimllm, parallel, bonsai");
            return 2;
        }
        long start = System.nanoTime();
        String modelName = name != null ? name : model.toAbsolutePath().getParent().getFileName().toString();
        ModelProto parent = OnnxModelReader.read(model);
        boolean synthetic = StructureDetector.isSynthetic(parent);
        Path tokenizer = model.toAbsolutePath().resolveSibling("tokenizer.json");
        List<TextSample> samples = calibration.equals("brown") ? BrownCorpus.bundled()
                : TextFiles.read(Path.of(calibration));
        RuntimeSettings settings = runtime.settings();

        Outcome outcome = switch (method) {
            case "ziplm" -> ziplm(parent, settings, samples, tokenizer);
            case "trimllm" -> trimllm(parent, settings, samples, tokenizer);
            case "bonsai" -> bonsai(parent, settings, samples, tokenizer);
            default -> parallel(parent, settings, samples, tokenizer);
        };

        List<Evaluation.Model> evaluated = outcome.variants().stream()
                .map(v -> new Evaluation.Model(v.method() + " " + tier(v.targetSpeedup()), v.model())).toList();
        int trainTexts = Math.max(calibrationTexts == null ? 0 : calibrationTexts, 1000);
        EvaluationReport report = Evaluation.builder(settings).trainTexts(trainTexts).testTexts(testTexts).seed(seed)
                .pooling(Pooling.valueOf(pooling.toUpperCase(Locale.ROOT))).build()
                .evaluate(new Evaluation.Model(modelName, parent), evaluated, tokenizer, samples, calibration);
        System.out.print(report.render());

        VariantPublisher publisher = new VariantPublisher(out);
        String parentSha = VariantPublisher.sha256(parent);
        for (double target : targets.stream().distinct().sorted().toList()) {
            // Per target, the variant with the lowest calibration loss among those that reached it.
            int best = -1;
            for (int i = 0; i < outcome.variants().size(); i++) {
                CompressedVariant v = outcome.variants().get(i);
                if (v.targetSpeedup() == target && (best < 0
                        || v.calibrationLoss() < outcome.variants().get(best).calibrationLoss())) {
                    best = i;
                }
            }
            if (best < 0) {
                continue;
            }
            CompressedVariant variant = outcome.variants().get(best);
            VariantResult quality = report.results().get(best + 1);
            String id = variant.method().replace('+', '-') + "-" + tier(target) + "-"
                    + VariantPublisher.sha256(variant.model()).substring(0, 8);
            Map<String, Object> parameters = new LinkedHashMap<>(variant.parameters());
            parameters.put("calibrationData", calibration);
            parameters.put("calibrationLoss", variant.calibrationLoss());
            parameters.put("seconds", variant.seconds());
            Path published = publisher.publish(modelName, id, variant.model(), sha -> new VariantManifest(id, modelName,
                    parentSha, variant.method(), parameters, target, variant.measuredSpeedup(),
                    new VariantManifest.Latency(variant.parentMs(), variant.variantMs(), settings, 5, 20),
                    new VariantManifest.Quality(calibration, report.testTexts(), quality.encoder(), quality.decoder()),
                    variant.structure(), sha, Instant.now().toString(), synthetic));
            System.out.printf(Locale.ROOT, "published %s: measured %.2fx for target %.2fx%n", published,
                    variant.measuredSpeedup(), target);
        }
        for (Unreached miss : outcome.unreached()) {
            Path recorded = publisher.recordUnreached(modelName, tier(miss.targetSpeedup()), new UnreachedTarget(
                    modelName, parentSha, miss.method(), miss.targetSpeedup(), miss.bestMeasuredSpeedup(), settings,
                    miss.reason(), Instant.now().toString()));
            System.out.printf(Locale.ROOT, "not published: %s %s: %s (%s)%n", miss.method(), tier(miss.targetSpeedup()),
                    miss.reason(), recorded);
        }
        System.out.printf(Locale.ROOT, "compression took %.1f s%n", (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private Outcome ziplm(ModelProto parent, RuntimeSettings settings, List<TextSample> samples, Path tokenizer) {
        ZipLmOptions options = ZipLmOptions.defaults();
        if (calibrationTexts != null) {
            options = options.withCalibration(calibrationTexts, options.calibrationSequence(), options.scoringTexts());
        }
        List<EncodedBatch> batches = calibrationBatches(samples, tokenizer, options.calibrationTexts(),
                options.calibrationSequence());
        EncodedBatch timing = timingBatch(samples, tokenizer);
        ComponentLatencyTable table = new ComponentLatencyMeter(settings, 5, 20)
                .loadOrMeasure(parent, timing, out.resolve(".latency-tables"));
        ZipLmOptions chosen = options;
        List<CompressedVariant> variants = new ZipLm(settings, options, System.out::println)
                .compress(parent, targets, batches, timing, table).stream().map(r -> r.variant(chosen)).toList();
        return new Outcome(variants, List.of());
    }

    private Outcome trimllm(ModelProto parent, RuntimeSettings settings, List<TextSample> samples, Path tokenizer) {
        TrimLlmOptions defaults = TrimLlmOptions.defaults();
        TrimLlmOptions options = new TrimLlmOptions(calibrationTexts == null ? defaults.calibrationTexts()
                : calibrationTexts, defaults.calibrationSequence(), defaults.scoringTexts(), !noRecovery,
                defaults.warmupRuns(), defaults.rounds());
        TrimLlmResult result = new TrimLlm(settings, options, System.out::println).compress(parent, targets,
                calibrationBatches(samples, tokenizer, options.calibrationTexts(), options.calibrationSequence()),
                timingBatch(samples, tokenizer));
        return new Outcome(result.variants(), result.unreached());
    }

    private Outcome parallel(ModelProto parent, RuntimeSettings settings, List<TextSample> samples, Path tokenizer) {
        ParallelOptions defaults = ParallelOptions.defaults();
        ParallelOptions options = new ParallelOptions(calibrationTexts == null ? defaults.scoringTexts()
                : calibrationTexts, defaults.sequence(), defaults.warmupRuns(), defaults.rounds());
        ParallelResult result = new LayerParallelSearch(settings, options, System.out::println).compress(parent, targets,
                calibrationBatches(samples, tokenizer, options.scoringTexts(), options.sequence()),
                timingBatch(samples, tokenizer));
        return new Outcome(result.variants(), result.unreached());
    }

    private Outcome bonsai(ModelProto parent, RuntimeSettings settings, List<TextSample> samples, Path tokenizer) {
        BonsaiOptions options = BonsaiOptions.defaults();
        int texts = calibrationTexts == null ? Math.max(options.scoringTexts(), options.priorTexts()) : calibrationTexts;
        BonsaiResult result = new Bonsai(settings, options, System.out::println).compress(parent, targets,
                calibrationBatches(samples, tokenizer, texts, options.sequence()), timingBatch(samples, tokenizer));
        return new Outcome(result.variants(), result.unreached());
    }

    /** The seeded calibration split (disjoint from the evaluation's test texts drawn from the same order). */
    private List<EncodedBatch> calibrationBatches(List<TextSample> samples, Path tokenizer, int texts, int length) {
        DataSplits splits = DataSplits.of(samples, seed, texts, 0, 0);
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, length)) {
            return encoder.encodeAll(splits.calibration(), 16);
        }
    }

    private EncodedBatch timingBatch(List<TextSample> samples, Path tokenizer) {
        DataSplits splits = DataSplits.of(samples, seed, runtime.batch, 0, 0);
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, runtime.sequence)) {
            return encoder.encode(splits.calibration().stream().map(TextSample::text).toList());
        }
    }

    private static String tier(double speedup) {
        return (speedup == Math.rint(speedup) ? String.valueOf((long) speedup) : String.valueOf(speedup)) + "x";
    }
}
