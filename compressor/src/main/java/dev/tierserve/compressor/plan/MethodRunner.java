package dev.tierserve.compressor.plan;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.DecoderComparison;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.latency.Stopwatch;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.MethodResult;
import dev.tierserve.compressor.method.Unreached;
import dev.tierserve.compressor.method.bonsai.Bonsai;
import dev.tierserve.compressor.method.bonsai.BonsaiOptions;
import dev.tierserve.compressor.method.parallel.LayerParallelSearch;
import dev.tierserve.compressor.method.parallel.ParallelOptions;
import dev.tierserve.compressor.method.trimllm.TrimLlm;
import dev.tierserve.compressor.method.trimllm.TrimLlmOptions;
import dev.tierserve.compressor.method.trimllm.TrimLlmResult;
import dev.tierserve.compressor.method.ziplm.ZipLm;
import dev.tierserve.compressor.method.ziplm.ZipLmOptions;
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

/**
 * Runs the compression methods of one plan, all over one {@link MethodContext}: the plan's parent, its seeded
 * calibration texts (none of them among the texts the planner's evaluation tests on), one timing batch and one
 * latency meter. Per method it only chooses the options; the combination trimllm+ziplm reuses TrimLLM's trajectory.
 */
final class MethodRunner {

    /** ZipLM width pruning on top of the best depth result (TrimLLM), as variants record it. */
    private static final String DEPTH_THEN_WIDTH = Method.TRIMLLM_ZIPLM.label();
    /** The part of a tier's speedup (in log space) that the depth step of trimllm+ziplm takes. */
    static final double DEPTH_SHARE = 0.5;

    private static final int SCORING_TEXTS = 64;
    private static final int SCORING_SEQUENCE = 128;

    private final PlanRequest request;
    private final List<TextSample> samples;
    private final Path tokenizer;
    /** A decoder's vocabulary, into which token ids are folded (a synthetic one's is smaller than the tokenizer's). */
    private final OptionalInt decoderVocabulary;
    private final MethodContext context;
    /** TrimLLM variants by target, kept from this plan's TrimLLM runs for the combination. */
    private final Map<Double, CompressedVariant> depthSteps = new HashMap<>();

    MethodRunner(PlanRequest request, ModelProto parent, List<TextSample> samples, Path tokenizer, Path latencyTables,
                 OptionalInt decoderVocabulary, Stopwatch stopwatch, Consumer<String> progress) {
        this.request = request;
        this.samples = samples;
        this.tokenizer = tokenizer;
        this.decoderVocabulary = decoderVocabulary;
        this.context = MethodContext.builder(parent, request.runtime())
                .calibration(this::calibrationBatches)
                .timing(timingBatch())
                .stopwatch(stopwatch)
                .latencyTables(latencyTables)
                .log(progress)
                .build();
    }

    /** The context every method of this plan works from. */
    MethodContext context() {
        return context;
    }

    MethodResult run(Method method, List<Double> tiers) {
        return switch (method) {
            case ZIPLM -> new ZipLm(zipLmOptions()).compress(context, tiers);
            case TRIMLLM_ZIPLM -> depthThenWidth(tiers);
            case TRIMLLM -> trimllm(tiers);
            case BONSAI -> new Bonsai(BonsaiOptions.defaults()).compress(context, tiers);
            case PARALLEL -> new LayerParallelSearch(ParallelOptions.defaults()).compress(context, tiers);
        };
    }

    /**
     * ZipLM width pruning on top of the best depth result: for tier T, the TrimLLM variant (plain or affine-corrected,
     * the lower calibration loss) at the depth share T^{@value #DEPTH_SHARE} is pruned by ZipLM the rest of the way,
     * scored against the parent's outputs and timed against the parent.
     */
    private MethodResult depthThenWidth(List<Double> tiers) {
        List<Double> missing = tiers.stream().map(MethodRunner::depthStep).filter(d -> !depthSteps.containsKey(d))
                .toList();
        if (!missing.isEmpty()) {
            runTrimLlm(missing);
        }
        ZipLm zipLm = new ZipLm(zipLmOptions());
        List<CompressedVariant> variants = new ArrayList<>();
        List<Unreached> unreached = new ArrayList<>();
        for (double tier : tiers) {
            CompressedVariant depth = depthSteps.get(depthStep(tier));
            if (depth == null) {
                unreached.add(new Unreached(DEPTH_THEN_WIDTH, tier, 0, String.format(Locale.ROOT,
                        "TrimLLM did not reach the depth step %.2fx", depthStep(tier))));
                continue;
            }
            context.log().accept(String.format(Locale.ROOT, "%s %s: ZipLM on top of %s at %.2fx (%s)",
                    DEPTH_THEN_WIDTH, TierNames.format(tier), depth.method(), depth.measuredSpeedup(),
                    depth.structure()));
            ZipLmRun run = zipLm.compress(context, depth.model(), List.of(tier));
            run.unreached().forEach(u -> unreached.add(new Unreached(DEPTH_THEN_WIDTH, u.targetSpeedup(),
                    u.bestMeasuredSpeedup(), u.reason())));
            for (CompressedVariant width : run.variants()) {
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

    /** What a combination of methods produced. */
    private record Outcome(List<CompressedVariant> variants, List<Unreached> unreached) implements MethodResult {
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

    private MethodResult trimllm(List<Double> tiers) {
        // With the combination planned too, one trajectory also yields its depth steps.
        List<Double> targets = new ArrayList<>(tiers);
        if (request.methods().contains(Method.TRIMLLM_ZIPLM)) {
            request.tiers().stream().map(MethodRunner::depthStep).filter(d -> !targets.contains(d))
                    .forEach(targets::add);
        }
        TrimLlmResult result = runTrimLlm(targets);
        return new Outcome(result.variants().stream().filter(v -> tiers.contains(v.targetSpeedup())).toList(),
                result.unreached().stream().filter(u -> tiers.contains(u.targetSpeedup())).toList());
    }

    /** Runs TrimLLM and keeps, per target, its variant with the lower calibration loss as a depth step. */
    private TrimLlmResult runTrimLlm(List<Double> targets) {
        TrimLlmOptions defaults = TrimLlmOptions.defaults();
        TrimLlmOptions options = defaults.withCalibration(texts(defaults.calibrationTexts()),
                defaults.calibrationSequence(), defaults.scoringTexts()).withRecovery(request.recovery());
        TrimLlmResult result = new TrimLlm(options).compress(context, targets);
        for (CompressedVariant v : result.variants()) {
            depthSteps.merge(v.targetSpeedup(), v, (a, b) -> a.calibrationLoss() <= b.calibrationLoss() ? a : b);
        }
        return result;
    }

    private int texts(int methodDefault) {
        return request.calibrationTexts() > 0 ? request.calibrationTexts() : methodDefault;
    }

    /**
     * Seeded calibration texts, none of them among the texts the planner's evaluation tests on: {@code texts} of
     * them, or as many as the request asks every method to use.
     */
    private List<EncodedBatch> calibrationBatches(int texts, int length) {
        List<TextSample> calibration = DataSplits.outsideTest(samples, request.seed(), Evaluation.DEFAULT_TRAIN_TEXTS,
                request.testTexts(), texts(texts));
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, length)) {
            return encoder.encodeAll(calibration, 16).stream().map(this::forModel).toList();
        }
    }

    /** The first texts of the calibration order, for the relative output error of passes with no scoring of their own. */
    List<EncodedBatch> scoringBatches() {
        return calibrationBatches(SCORING_TEXTS, SCORING_SEQUENCE);
    }

    /** The batch every latency comparison of this plan times, of the runtime's batch size and sequence length. */
    private EncodedBatch timingBatch() {
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
