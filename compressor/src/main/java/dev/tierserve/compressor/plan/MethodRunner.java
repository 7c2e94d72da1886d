package dev.tierserve.compressor.plan;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
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

import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/** Runs one compression method for a plan: its calibration data, its options, its timing batch. */
final class MethodRunner {

    /** What a method produced: variants that reached their targets, and targets it could not reach. */
    record Outcome(List<CompressedVariant> variants, List<Unreached> unreached) {
    }

    private final PlanRequest request;
    private final List<TextSample> samples;
    private final Path tokenizer;
    private final Path latencyTables;
    private final Consumer<String> progress;

    MethodRunner(PlanRequest request, List<TextSample> samples, Path tokenizer, Path latencyTables,
                 Consumer<String> progress) {
        this.request = request;
        this.samples = samples;
        this.tokenizer = tokenizer;
        this.latencyTables = latencyTables;
        this.progress = progress;
    }

    Outcome run(String method, ModelProto parent, List<Double> tiers) {
        return switch (method) {
            case "ziplm" -> ziplm(parent, tiers);
            case "trimllm" -> trimllm(parent, tiers);
            case "bonsai" -> bonsai(parent, tiers);
            case "parallel" -> parallel(parent, tiers);
            default -> throw new IllegalArgumentException("unknown method '" + method + "'");
        };
    }

    private Outcome ziplm(ModelProto parent, List<Double> tiers) {
        ZipLmOptions options = ZipLmOptions.defaults();
        if (request.calibrationTexts() > 0) {
            options = options.withCalibration(request.calibrationTexts(), options.calibrationSequence(),
                    options.scoringTexts());
        }
        EncodedBatch timing = timingBatch();
        ComponentLatencyTable table = new ComponentLatencyMeter(request.runtime(), 5, 20)
                .loadOrMeasure(parent, timing, latencyTables);
        ZipLmOptions chosen = options;
        List<CompressedVariant> variants = new ZipLm(request.runtime(), options, progress)
                .compress(parent, tiers, calibrationBatches(options.calibrationTexts(), options.calibrationSequence()),
                        timing, table)
                .stream().map(r -> r.variant(chosen)).toList();
        return new Outcome(variants, List.of());
    }

    private Outcome trimllm(ModelProto parent, List<Double> tiers) {
        TrimLlmOptions defaults = TrimLlmOptions.defaults();
        TrimLlmOptions options = new TrimLlmOptions(texts(defaults.calibrationTexts()), defaults.calibrationSequence(),
                defaults.scoringTexts(), request.recovery(), defaults.warmupRuns(), defaults.rounds());
        TrimLlmResult result = new TrimLlm(request.runtime(), options, progress).compress(parent, tiers,
                calibrationBatches(options.calibrationTexts(), options.calibrationSequence()), timingBatch());
        return new Outcome(result.variants(), result.unreached());
    }

    private Outcome parallel(ModelProto parent, List<Double> tiers) {
        ParallelOptions defaults = ParallelOptions.defaults();
        ParallelOptions options = new ParallelOptions(texts(defaults.scoringTexts()), defaults.sequence(),
                defaults.warmupRuns(), defaults.rounds());
        ParallelResult result = new LayerParallelSearch(request.runtime(), options, progress).compress(parent,
                tiers, calibrationBatches(options.scoringTexts(), options.sequence()), timingBatch());
        return new Outcome(result.variants(), result.unreached());
    }

    private Outcome bonsai(ModelProto parent, List<Double> tiers) {
        BonsaiOptions options = BonsaiOptions.defaults();
        int texts = texts(Math.max(options.scoringTexts(), options.priorTexts()));
        BonsaiResult result = new Bonsai(request.runtime(), options, progress).compress(parent, tiers,
                calibrationBatches(texts, options.sequence()), timingBatch());
        return new Outcome(result.variants(), result.unreached());
    }

    private int texts(int methodDefault) {
        return request.calibrationTexts() > 0 ? request.calibrationTexts() : methodDefault;
    }

    /** The seeded calibration split (disjoint from the evaluation's test texts drawn from the same order). */
    private List<EncodedBatch> calibrationBatches(int texts, int length) {
        DataSplits splits = DataSplits.of(samples, request.seed(), texts, 0, 0);
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, length)) {
            return encoder.encodeAll(splits.calibration(), 16);
        }
    }

    private EncodedBatch timingBatch() {
        DataSplits splits = DataSplits.of(samples, request.seed(), request.runtime().batch(), 0, 0);
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, request.runtime().sequence())) {
            return encoder.encode(splits.calibration().stream().map(TextSample::text).toList());
        }
    }
}
