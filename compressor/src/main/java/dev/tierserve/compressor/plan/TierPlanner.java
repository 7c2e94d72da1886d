package dev.tierserve.compressor.plan;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.TextFiles;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.eval.VariantResult;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.OnnxModelWriter;
import dev.tierserve.compressor.graph.structure.Projection;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.latency.Stopwatch;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.MethodResult;
import dev.tierserve.compressor.method.Unreached;
import dev.tierserve.store.TierChange;
import dev.tierserve.store.TierNames;
import dev.tierserve.store.UnreachedTarget;
import dev.tierserve.store.VariantManifest;
import dev.tierserve.store.VariantStore;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Turns a model and a list of tiers into published variants: runs the requested methods (skipping a method on a
 * tier it is recorded not to reach on this runtime), evaluates every variant they return against the parent on
 * held-out texts in one run, and publishes per tier the most accurate variant whose measured speedup reaches the
 * tier and whose quality is above the minimum. Every candidate and the reason it lost is in the decision.
 */
public final class TierPlanner {

    private final VariantStore store;
    private final Consumer<String> progress;
    private final Stopwatch stopwatch;

    public TierPlanner(VariantStore store, Consumer<String> progress) {
        this(store, progress, Stopwatch.system());
    }

    /** A planner whose latency comparisons time runs with {@code stopwatch} (tests inject noise with it). */
    public TierPlanner(VariantStore store, Consumer<String> progress, Stopwatch stopwatch) {
        this.store = store;
        this.progress = progress;
        this.stopwatch = stopwatch;
    }

    public List<TierDecision> plan(PlanRequest request) {
        long start = System.nanoTime();
        ModelProto parent = OnnxModelReader.read(request.parentFile());
        String parentSha = OnnxModelWriter.sha256(parent);
        Path tokenizer = request.tokenizer();
        List<TextSample> samples = request.calibration().equals("brown") ? BrownCorpus.bundled()
                : TextFiles.read(Path.of(request.calibration()));
        Projection lmHead = StructureDetector.detect(parent).lmHead();
        MethodRunner runner = new MethodRunner(request, parent, samples, tokenizer,
                store.workDir().resolve(".latency-tables"),
                lmHead == null ? OptionalInt.empty() : OptionalInt.of(lmHead.outFeatures()), stopwatch, progress);

        List<CompressedVariant> variants = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        List<UnreachedTarget> unreached = store.unreached(request.model());
        boolean float32 = request.precisions().contains(Precision.FLOAT32);
        // Structured targets whose results are quantized for a tier: base -> the tiers it serves.
        Map<Double, List<Double>> bases = new TreeMap<>();
        Int8Stacking int8 = null;
        if (request.precisions().contains(Precision.INT8)) {
            int8 = Int8Stacking.measure(runner.context(), request.tiers(), runner.scoringBatches());
            variants.add(int8.alone());
            for (double tier : request.tiers()) {
                int8.base(tier).ifPresent(base -> bases.computeIfAbsent(base, b -> new ArrayList<>()).add(tier));
            }
        }
        List<Double> floatTiers = new ArrayList<>();
        for (double tier : float32 ? request.tiers() : List.<Double>of()) {
            if (int8 != null && int8.dominates(tier)) {
                progress.accept("planner: no float32 variant for " + TierNames.format(tier) + ": int8 reaches it with "
                        + "far less pruning");
            } else {
                floatTiers.add(tier);
            }
        }
        for (Method method : request.methods()) {
            List<Double> targets = new ArrayList<>(floatTiers);
            bases.keySet().stream().filter(b -> !targets.contains(b)).forEach(targets::add);
            if (targets.isEmpty()) {
                progress.accept("planner: no target left for " + method.label() + " at " + request.precisions());
                continue;
            }
            List<Double> tiers = targets.stream().sorted()
                    .filter(t -> !recordedUnreached(unreached, request, parentSha, method, t)).toList();
            if (tiers.isEmpty()) {
                skipped.add(method.label());
                progress.accept("planner: skipping " + method.label() + ", recorded as not reaching " + targets
                        + " on " + request.runtime().key());
                continue;
            }
            progress.accept("planner: running " + method.label() + " for " + tiers);
            MethodResult outcome = runner.run(method, tiers);
            for (CompressedVariant variant : outcome.variants()) {
                if (floatTiers.contains(variant.targetSpeedup())) {
                    variants.add(variant);
                }
                for (double tier : bases.getOrDefault(variant.targetSpeedup(), List.of())) {
                    variants.add(int8.stack(variant, tier));
                }
            }
            for (Unreached miss : outcome.unreached()) {
                store.recordUnreached(request.model(), TierNames.format(miss.targetSpeedup()),
                        new UnreachedTarget(request.model(), parentSha, miss.method(), miss.targetSpeedup(),
                                miss.bestMeasuredSpeedup(), request.runtime(), miss.reason(), Instant.now().toString()));
            }
        }

        EvaluationReport report = variants.isEmpty() ? null : evaluate(request, parent, tokenizer, samples, variants);
        boolean synthetic = StructureDetector.isSynthetic(parent);
        List<TierDecision> decisions = new ArrayList<>();
        for (double tier : request.tiers()) {
            decisions.add(decide(request, tier, variants, report, parentSha, synthetic, skipped));
        }
        progress.accept(String.format(Locale.ROOT, "planner: %d tier(s) decided in %.1f s", decisions.size(),
                (System.nanoTime() - start) / 1e9));
        return decisions;
    }

    private TierDecision decide(PlanRequest request, double tier, List<CompressedVariant> variants,
                                EvaluationReport report, String parentSha, boolean synthetic, List<String> skipped) {
        // A variant built for a faster tier also answers this one if it is at least as accurate.
        record Scored(int index, CompressedVariant variant, VariantResult quality, double score) {
        }
        List<Scored> reaching = new ArrayList<>();
        List<Candidate> candidates = new ArrayList<>();
        for (int i = 0; i < variants.size(); i++) {
            CompressedVariant v = variants.get(i);
            VariantResult quality = report.results().get(i + 1);
            if (v.measuredSpeedup() < tier) {
                if (v.targetSpeedup() == tier) {
                    candidates.add(candidate(v, quality, String.format(Locale.ROOT, "measured %.2fx < %s",
                            v.measuredSpeedup(), TierNames.format(tier))));
                }
                continue;
            }
            reaching.add(new Scored(i, v, quality, score(quality)));
        }
        reaching.sort(Comparator.comparingDouble(Scored::score).reversed()
                .thenComparingDouble(s -> s.variant().calibrationLoss()));
        Scored chosen = null;
        for (Scored s : reaching) {
            double cosine = cosine(s.quality());
            if (chosen == null && request.minQuality() > 0 && !(cosine >= request.minQuality())) {
                candidates.add(candidate(s.variant(), s.quality(), String.format(Locale.ROOT,
                        "mean cosine %.4f below the tier's minimum %.4f", cosine, request.minQuality())));
            } else if (chosen == null) {
                chosen = s;
                candidates.add(candidate(s.variant(), s.quality(), null));
            } else {
                candidates.add(candidate(s.variant(), s.quality(), String.format(Locale.ROOT,
                        "less accurate than %s (%.4f vs %.4f)", chosen.variant().method(), s.score(), chosen.score())));
            }
        }
        if (chosen == null) {
            String reason = variants.isEmpty() && !skipped.isEmpty()
                    ? "methods " + skipped + " are recorded as not reaching it on " + request.runtime().key()
                    : candidates.isEmpty() ? "no method reached it on " + request.runtime().key()
                    : "no candidate reached it with the minimum quality";
            return new TierDecision(tier, null, reason, candidates);
        }
        String id = publish(request, tier, chosen.variant(), chosen.quality(), report, parentSha, synthetic);
        return new TierDecision(tier, id, String.format(Locale.ROOT, "%s measured %.2fx, mean cosine %.4f: the most "
                + "accurate of %d reaching %s", chosen.variant().method(), chosen.variant().measuredSpeedup(),
                cosine(chosen.quality()), reaching.size(), TierNames.format(tier)), candidates);
    }

    private String publish(PlanRequest request, double tier, CompressedVariant variant, VariantResult quality,
                           EvaluationReport report, String parentSha, boolean synthetic) {
        String id = variant.method().replace('+', '-') + "-" + TierNames.format(tier) + "-"
                + OnnxModelWriter.sha256(variant.model()).substring(0, 8);
        Map<String, Object> parameters = new LinkedHashMap<>(variant.parameters());
        parameters.put("calibrationData", request.calibration());
        parameters.put("calibrationLoss", variant.calibrationLoss());
        parameters.put("seconds", variant.seconds());
        if (quality.encoder() != null) {
            // The embedding the quality figures were measured on (decoders have none).
            parameters.put("pooling", request.pooling().name().toLowerCase(Locale.ROOT));
            parameters.put("normalize", request.normalize());
        }
        if (request.jobId() != null) {
            parameters.put("jobId", request.jobId());
        }
        if (store.variant(request.model(), id).isEmpty()) {
            String published = store.publish(request.model(), id, file -> OnnxModelWriter.write(variant.model(), file), sha -> new VariantManifest(
                    id, request.model(), parentSha, variant.method(), parameters, tier, variant.measuredSpeedup(),
                    new VariantManifest.Latency(variant.parentMs(), variant.variantMs(), request.runtime(), 5, 20),
                    new VariantManifest.Quality(request.calibration(), report.testTexts(), quality.encoder(),
                            quality.decoder()),
                    variant.structure(), sha, Instant.now().toString(), synthetic));
            progress.accept(String.format(Locale.ROOT, "published %s: measured %.2fx for %s", published,
                    variant.measuredSpeedup(), TierNames.format(tier)));
        }
        // The first variant of a tier becomes its stable answer; a later one enters as a canary at weight 0, judged in
        // shadow against exact before the gateway's rollout judgement steps it up (or rolls it back).
        store.updateTiers(request.model(), new TierChange.Published(TierNames.format(tier), id,
                "job " + request.jobId(), Instant.now().toString()));
        return id;
    }

    private EvaluationReport evaluate(PlanRequest request, ModelProto parent, Path tokenizer, List<TextSample> samples,
                                      List<CompressedVariant> variants) {
        List<Evaluation.Model> evaluated = variants.stream()
                .map(v -> new Evaluation.Model(v.method() + " " + TierNames.format(v.targetSpeedup()), v.model()))
                .toList();
        progress.accept("planner: evaluating " + variants.size() + " candidate(s) on " + request.testTexts()
                + " held-out texts");
        EvaluationReport report = Evaluation.builder(request.runtime())
                .testTexts(request.testTexts())
                .seed(request.seed()).pooling(request.pooling()).normalize(request.normalize()).build()
                .evaluate(new Evaluation.Model(request.model(), parent), evaluated, tokenizer, samples,
                        request.calibration());
        progress.accept(report.render());
        return report;
    }

    private static boolean recordedUnreached(List<UnreachedTarget> records, PlanRequest request, String parentSha,
                                             Method method, double tier) {
        return records.stream().anyMatch(r -> Method.ofForm(r.method()) == method
                && r.targetSpeedup() == tier && parentSha.equals(r.parentSha256()) && request.runtime().equals(r.runtime()));
    }

    /** Higher is better: mean cosine for encoders, negative mean KL for decoders. */
    private static double score(VariantResult quality) {
        return quality.encoder() != null ? quality.encoder().meanCosine() : -quality.decoder().meanKl();
    }

    private static double cosine(VariantResult quality) {
        return quality.encoder() != null ? quality.encoder().meanCosine() : Double.NaN;
    }

    private static Candidate candidate(CompressedVariant v, VariantResult quality, String rejectedBecause) {
        return new Candidate(v.method(), v.targetSpeedup(), v.measuredSpeedup(), cosine(quality), v.calibrationLoss(),
                rejectedBecause);
    }
}
