package dev.tierserve.compressor.plan;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.DecoderComparison;
import dev.tierserve.compressor.eval.Evaluation;
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
import dev.tierserve.compressor.method.ziplm.ZipLmResult;
import dev.tierserve.compressor.method.ziplm.ZipLmRun;
import dev.tierserve.store.TierNames;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.Consumer;

/** Runs one compression method for a plan: its calibration data, its options, its timing batch. */
final class MethodRunner {

    /** What a method produced: variants that reached their targets, and targets it could not reach. */
    record Outcome(List<CompressedVariant> variants, List<Unreached> unreached) {
    }

    /** ZipLM width pruning on top of the best depth result (TrimLLM), as variants record it. */
    private static final String DEPTH_THEN_WIDTH = Method.TRIMLLM_ZIPLM.label();
    /** The part of a tier's speedup (in log space) that the depth step of trimllm+ziplm takes. */
    static final double DEPTH_SHARE = 0.5;

    private static final int SCORING_TEXTS = 64;
    private static final int SCORING_SEQUENCE = 128;

    private final PlanRequest request;
    private final List<TextSample> samples;
    private final Path tokenizer;
    private final Path latencyTables;
    /** A decoder's vocabulary, into which token ids are folded (a synthetic one's is smaller than the tokenizer's). */
    private final OptionalInt decoderVocabulary;
    private final Consumer<String> progress;
    /** TrimLLM variants by target, kept from this plan's TrimLLM runs for the combination. */
    private final Map<Double, CompressedVariant> depthSteps = new HashMap<>();

    MethodRunner(PlanRequest request, List<TextSample> samples, Path tokenizer, Path latencyTables,
                 OptionalInt decoderVocabulary, Consumer<String> progress) {
        this.request = request;
        this.samples = samples;
        this.tokenizer = tokenizer;
        this.latencyTables = latencyTables;
        this.decoderVocabulary = decoderVocabulary;
        this.progress = progress;
    }

    Outcome run(Method method, ModelProto parent, List<Double> tiers) {
        return switch (method) {
            case ZIPLM -> ziplm(parent, tiers);
            case TRIMLLM_ZIPLM -> depthThenWidth(parent, tiers);
            case TRIMLLM -> trimllm(parent, tiers);
            case BONSAI -> bonsai(parent, tiers);
            case PARALLEL -> parallel(parent, tiers);
        };
    }

    private Outcome ziplm(ModelProto parent, List<Double> tiers) {
        ZipLmOptions options = zipLmOptions();
        EncodedBatch timing = timingBatch();
        ZipLmRun run = new ZipLm(request.runtime(), options, progress).compress(parent, tiers,
                calibrationBatches(options.calibrationTexts(), options.calibrationSequence()), timing,
                latencyTable(parent, timing));
        return new Outcome(run.results().stream().map(r -> r.variant(options)).toList(), run.unreached());
    }

    /**
     * ZipLM width pruning on top of the best depth result: for tier T, the TrimLLM variant (plain or affine-corrected,
     * the lower calibration loss) at the depth share T^{@value #DEPTH_SHARE} is pruned by ZipLM the rest of the way,
     * scored against the parent's outputs and timed against the parent.
     */
    private Outcome depthThenWidth(ModelProto parent, List<Double> tiers) {
        List<Double> missing = tiers.stream().map(MethodRunner::depthStep).filter(d -> !depthSteps.containsKey(d))
                .toList();
        if (!missing.isEmpty()) {
            runTrimLlm(parent, missing);
        }
        ZipLmOptions options = zipLmOptions();
        EncodedBatch timing = timingBatch();
        ComponentLatencyTable table = latencyTable(parent, timing);
        List<EncodedBatch> calibration = calibrationBatches(options.calibrationTexts(), options.calibrationSequence());
        List<CompressedVariant> variants = new ArrayList<>();
        List<Unreached> unreached = new ArrayList<>();
        for (double tier : tiers) {
            CompressedVariant depth = depthSteps.get(depthStep(tier));
            if (depth == null) {
                unreached.add(new Unreached(DEPTH_THEN_WIDTH, tier, 0, String.format(Locale.ROOT,
                        "TrimLLM did not reach the depth step %.2fx", depthStep(tier))));
                continue;
            }
            progress.accept(String.format(Locale.ROOT, "%s %s: ZipLM on top of %s at %.2fx (%s)", DEPTH_THEN_WIDTH,
                    TierNames.format(tier), depth.method(), depth.measuredSpeedup(), depth.structure()));
            ZipLmRun run = new ZipLm(request.runtime(), options, progress).compress(depth.model(), parent,
                    List.of(tier), calibration, timing, table);
            run.unreached().forEach(u -> unreached.add(new Unreached(DEPTH_THEN_WIDTH, u.targetSpeedup(),
                    u.bestMeasuredSpeedup(), u.reason())));
            for (ZipLmResult result : run.results()) {
                CompressedVariant width = result.variant(options);
                Map<String, Object> parameters = new LinkedHashMap<>();
                parameters.put("depthMethod", depth.method());
                parameters.put("depthMeasuredSpeedup", depth.measuredSpeedup());
                parameters.put("depth", depth.parameters());
                parameters.put("width", width.parameters());
                variants.add(new CompressedVariant(DEPTH_THEN_WIDTH, tier, width.model(), width.measuredSpeedup(),
                        width.parentMs(), width.variantMs(), width.calibrationLoss(),
                        "depth: " + depth.structure() + "; width: " + width.structure(), parameters,
                        depth.seconds() + width.seconds()));
            }
        }
        return new Outcome(variants, unreached);
    }

    /** The depth share of a tier: half of its speedup in log space. */
    static double depthStep(double tier) {
        return Math.pow(tier, DEPTH_SHARE);
    }

    private ZipLmOptions zipLmOptions() {
        ZipLmOptions options = ZipLmOptions.defaults();
        return request.calibrationTexts() > 0 ? options.withCalibration(request.calibrationTexts(),
                options.calibrationSequence(), options.scoringTexts()) : options;
    }

    private ComponentLatencyTable latencyTable(ModelProto parent, EncodedBatch timing) {
        return new ComponentLatencyMeter(request.runtime(), 5, 20).loadOrMeasure(parent, timing, latencyTables);
    }

    private Outcome trimllm(ModelProto parent, List<Double> tiers) {
        // With the combination planned too, one trajectory also yields its depth steps.
        List<Double> targets = new ArrayList<>(tiers);
        if (request.methods().contains(Method.TRIMLLM_ZIPLM)) {
            request.tiers().stream().map(MethodRunner::depthStep).filter(d -> !targets.contains(d))
                    .forEach(targets::add);
        }
        TrimLlmResult result = runTrimLlm(parent, targets);
        return new Outcome(result.variants().stream().filter(v -> tiers.contains(v.targetSpeedup())).toList(),
                result.unreached().stream().filter(u -> tiers.contains(u.targetSpeedup())).toList());
    }

    /** Runs TrimLLM and keeps, per target, its variant with the lower calibration loss as a depth step. */
    private TrimLlmResult runTrimLlm(ModelProto parent, List<Double> targets) {
        TrimLlmOptions defaults = TrimLlmOptions.defaults();
        TrimLlmOptions options = defaults.withCalibration(texts(defaults.calibrationTexts()),
                defaults.calibrationSequence(), defaults.scoringTexts()).withRecovery(request.recovery());
        TrimLlmResult result = new TrimLlm(request.runtime(), options, progress).compress(parent,
                targets.stream().sorted().toList(),
                calibrationBatches(options.calibrationTexts(), options.calibrationSequence()), timingBatch());
        for (CompressedVariant v : result.variants()) {
            depthSteps.merge(v.targetSpeedup(), v, (a, b) -> a.calibrationLoss() <= b.calibrationLoss() ? a : b);
        }
        return result;
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

    /** Seeded calibration texts, none of them among the texts the planner's evaluation tests on. */
    private List<EncodedBatch> calibrationBatches(int texts, int length) {
        List<TextSample> calibration = DataSplits.outsideTest(samples, request.seed(), Evaluation.DEFAULT_TRAIN_TEXTS,
                request.testTexts(), texts);
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, length)) {
            return encoder.encodeAll(calibration, 16).stream().map(this::forModel).toList();
        }
    }

    /** The first texts of the calibration order, for the relative output error of passes with no scoring of their own. */
    List<EncodedBatch> scoringBatches() {
        return calibrationBatches(SCORING_TEXTS, SCORING_SEQUENCE);
    }

    /** The batch every latency comparison of this plan times, of the runtime's batch size and sequence length. */
    EncodedBatch timingBatch() {
        DataSplits splits = DataSplits.of(samples, request.seed(), request.runtime().batch(), 0, 0);
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, request.runtime().sequence())) {
            return forModel(encoder.encode(splits.calibration().stream().map(TextSample::text).toList()));
        }
    }

    private EncodedBatch forModel(EncodedBatch batch) {
        return decoderVocabulary.isPresent() ? DecoderComparison.foldIntoVocabulary(batch, decoderVocabulary.getAsInt())
                : batch;
    }
}
