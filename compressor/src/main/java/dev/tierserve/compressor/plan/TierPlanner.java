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
import dev.tierserve.store.TierTable;
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
        JobMemory memory = JobMemory.of(parent, request.methods());
        memory.check(request.model(), Runtime.getRuntime().maxMemory());
        progress.accept(String.format(Locale.ROOT, "planner: the plan needs about %d MiB of heap (%d MiB available)",
                JobMemory.mib(memory.peakBytes()), JobMemory.mib(Runtime.getRuntime().maxMemory())));
        String parentSha = OnnxModelWriter.sha256(parent);
        Path tokenizer = request.tokenizer();
        List<TextSample> samples = request.calibration().equals("brown") ? BrownCorpus.bundled()
                : TextFiles.read(Path.of(request.calibration()));
        Projection lmHead = StructureDetector.detect(parent).lmHead();
        MethodRunner runner = new MethodRunner(request, parent, samples, tokenizer,
                store.workDir().resolve(".latency-tables"),
                lmHead == null ? OptionalInt.empty() : OptionalInt.of(lmHead.outFeatures()), stopwatch, progress);
        Winners winners = new Winners(request, parent, parentSha, tokenizer, samples);

        List<UnreachedTarget> unreached = store.unreached(request.model());
        boolean float32 = request.precisions().contains(Precision.FLOAT32);
        // Structured targets whose results are quantized for a tier: base -> the tiers it serves.
        Map<Double, List<Double>> bases = new TreeMap<>();
        Int8Stacking int8 = null;
        if (request.precisions().contains(Precision.INT8)) {
            Int8Stacking measured = Int8Stacking.measure(runner.context(), request.tiers(), runner.scoringBatches());
            if (measured.pays()) {
                int8 = measured;
                winners.offer(List.of(int8.alone()));
                for (double tier : request.tiers()) {
                    int8.base(tier).ifPresent(base -> bases.computeIfAbsent(base, b -> new ArrayList<>()).add(tier));
                }
            } else {
                winners.declined(measured.declined());
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
        if (int8 == null && !float32) {
            progress.accept("planner: no precision left to build at");
        }
        for (Method method : int8 == null && !float32 ? List.<Method>of() : request.methods()) {
            List<Double> targets = new ArrayList<>(floatTiers);
            bases.keySet().stream().filter(b -> !targets.contains(b)).forEach(targets::add);
            if (targets.isEmpty()) {
                progress.accept("planner: no target left for " + method.label() + " at " + request.precisions());
                continue;
            }
            List<Double> tiers = targets.stream().sorted()
                    .filter(t -> !recordedUnreached(unreached, request, parentSha, method, t)).toList();
            if (tiers.isEmpty()) {
                winners.skipped(method.label());
                progress.accept("planner: skipping " + method.label() + ", recorded as not reaching " + targets
                        + " on " + request.runtime().key());
                continue;
            }
            progress.accept("planner: running " + method.label() + " for " + tiers);
            List<CompressedVariant> stacked = new ArrayList<>();
            winners.offer(built(request, parentSha, runner, method, tiers, floatTiers, bases, int8, stacked));
            if (int8 != null) {
                searchFurther(request, parentSha, runner, method, stacked, floatTiers, int8, winners);
            }
        }

        boolean synthetic = StructureDetector.isSynthetic(parent);
        List<TierDecision> decisions = new ArrayList<>();
        for (double tier : request.tiers()) {
            decisions.add(winners.decision(tier, synthetic));
        }
        progress.accept(String.format(Locale.ROOT, "planner: %d tier(s) decided in %.1f s", decisions.size(),
                (System.nanoTime() - start) / 1e9));
        return decisions;
    }

    /**
     * Runs {@code method} for {@code tiers} and returns the candidates it yields: its variants for float32 tiers as
     * built, and those built for an int8 base quantized for each tier the base serves (also added to {@code stacked}).
     * Targets it missed are recorded in the store, so that a later job does not run it for them again.
     */
    private List<CompressedVariant> built(PlanRequest request, String parentSha, MethodRunner runner, Method method,
                                          List<Double> tiers, List<Double> floatTiers, Map<Double, List<Double>> bases,
                                          Int8Stacking int8, List<CompressedVariant> stacked) {
        MethodResult outcome = runner.run(method, tiers);
        List<CompressedVariant> candidates = new ArrayList<>();
        for (CompressedVariant variant : outcome.variants()) {
            if (floatTiers.contains(variant.targetSpeedup())) {
                candidates.add(variant);
            }
            for (double tier : bases.getOrDefault(variant.targetSpeedup(), List.of())) {
                CompressedVariant quantized = int8.stack(variant, tier);
                candidates.add(quantized);
                stacked.add(quantized);
            }
        }
        for (Unreached miss : outcome.unreached()) {
            store.recordUnreached(request.model(), TierNames.format(miss.targetSpeedup()),
                    new UnreachedTarget(request.model(), parentSha, miss.method(), miss.targetSpeedup(),
                            miss.bestMeasuredSpeedup(), request.runtime(), miss.reason(), Instant.now().toString()));
        }
        return candidates;
    }

    /**
     * Int8 copies are planned from a gain model fitted on two points, so one can measure short of its tier. For each
     * such tier that no candidate reaches yet, the method is asked again, once: for the base scaled by the miss (its
     * int8 copy measured like the first), and, where the tier's float32 candidate was skipped because int8 was
     * expected to get there with less pruning, for the tier itself at float32. Whatever measures best wins, as always.
     */
    private void searchFurther(PlanRequest request, String parentSha, MethodRunner runner, Method method,
                               List<CompressedVariant> stacked, List<Double> floatTiers, Int8Stacking int8,
                               Winners winners) {
        Map<Double, List<Double>> retryBases = new TreeMap<>();
        List<Double> floatRetries = new ArrayList<>();
        for (CompressedVariant missed : stacked) {
            double tier = missed.targetSpeedup();
            if (missed.measuredSpeedup() >= tier || winners.reached(tier) || retryBases.values().stream()
                    .anyMatch(t -> t.contains(tier))) {
                continue;
            }
            double base = Int8Stacking.retryBase(missed, tier);
            progress.accept(String.format(Locale.ROOT, "planner: %s measured %.2fx for %s; asking %s for %.3fx%s",
                    missed.method(), missed.measuredSpeedup(), TierNames.format(tier), method.label(), base,
                    floatTiers.contains(tier) ? "" : " and for " + TierNames.format(tier) + " at float32"));
            retryBases.computeIfAbsent(base, b -> new ArrayList<>()).add(tier);
            if (!floatTiers.contains(tier)) {
                floatRetries.add(tier);
            }
        }
        if (retryBases.isEmpty()) {
            return;
        }
        List<Double> targets = new ArrayList<>(floatRetries);
        retryBases.keySet().stream().filter(b -> !targets.contains(b)).forEach(targets::add);
        winners.offer(built(request, parentSha, runner, method, targets.stream().sorted().toList(), floatRetries,
                retryBases, int8, new ArrayList<>()));
    }

    /**
     * The candidates of one plan, evaluated against the parent as they come, and the variant each tier has published.
     * A tier publishes as soon as a candidate reaches it: the first as its stable variant, a more accurate one found
     * later in the same plan as a canary beside it (judged by the gateway's rollout before it serves).
     */
    private final class Winners {

        private record Scored(CompressedVariant variant, VariantResult quality) {
            double score() {
                return TierPlanner.score(quality);
            }
        }

        private final PlanRequest request;
        private final ModelProto parent;
        private final String parentSha;
        private final Path tokenizer;
        private final List<TextSample> samples;
        private final List<Scored> evaluated = new ArrayList<>();
        private final List<Candidate> declined = new ArrayList<>();
        private final List<String> skipped = new ArrayList<>();
        private final Map<Double, Scored> chosen = new TreeMap<>();
        private final Map<Double, String> published = new TreeMap<>();
        private final Map<Double, Boolean> asCanary = new TreeMap<>();
        /** The parent's side of every evaluation of this plan, made at the first. */
        private Evaluation.Reference reference;

        Winners(PlanRequest request, ModelProto parent, String parentSha, Path tokenizer, List<TextSample> samples) {
            this.request = request;
            this.parent = parent;
            this.parentSha = parentSha;
            this.tokenizer = tokenizer;
            this.samples = samples;
        }

        void declined(Candidate candidate) {
            declined.add(candidate);
        }

        void skipped(String method) {
            skipped.add(method);
        }

        boolean reached(double tier) {
            return evaluated.stream().anyMatch(s -> s.variant().measuredSpeedup() >= tier);
        }

        /** Evaluates {@code variants} and publishes each tier whose most accurate candidate changed. */
        void offer(List<CompressedVariant> variants) {
            if (variants.isEmpty()) {
                return;
            }
            if (reference == null) {
                reference = Evaluation.builder(request.runtime()).testTexts(request.testTexts()).seed(request.seed())
                        .pooling(request.pooling()).normalize(request.normalize()).build()
                        .reference(new Evaluation.Model(request.model(), parent), tokenizer, samples,
                                request.calibration());
            }
            progress.accept("planner: evaluating " + variants.size() + " candidate(s) on " + request.testTexts()
                    + " held-out texts");
            EvaluationReport report = reference.evaluate(variants.stream().map(v -> new Evaluation.Model(
                    v.method() + " " + TierNames.format(v.targetSpeedup()), v.model())).toList());
            progress.accept(report.render());
            for (int i = 0; i < variants.size(); i++) {
                evaluated.add(new Scored(variants.get(i), report.results().get(i + 1)));
            }
            for (double tier : request.tiers()) {
                Scored best = best(tier);
                if (best != null && best != chosen.get(tier)) {
                    chosen.put(tier, best);
                    Published done = publish(request, tier, best.variant(), best.quality(), report.testTexts(),
                            parentSha, StructureDetector.isSynthetic(parent));
                    asCanary.put(tier, done.canary());
                    published.put(tier, done.id());
                }
            }
        }

        /** The most accurate candidate reaching {@code tier} with the minimum quality; null when none does. */
        private Scored best(double tier) {
            return evaluated.stream().filter(s -> s.variant().measuredSpeedup() >= tier)
                    .filter(s -> request.minQuality() <= 0 || cosine(s.quality()) >= request.minQuality())
                    .max(Comparator.comparingDouble(Scored::score)
                            .thenComparing(Comparator.comparingDouble((Scored s) -> s.variant().calibrationLoss())
                                    .reversed()))
                    .orElse(null);
        }

        TierDecision decision(double tier, boolean synthetic) {
            Scored winner = chosen.get(tier);
            List<Candidate> candidates = new ArrayList<>();
            List<Scored> reaching = new ArrayList<>();
            for (Scored s : evaluated) {
                CompressedVariant v = s.variant();
                if (v.measuredSpeedup() < tier) {
                    if (v.targetSpeedup() == tier) {
                        candidates.add(candidate(v, s.quality(), String.format(Locale.ROOT, "measured %.2fx < %s",
                                v.measuredSpeedup(), TierNames.format(tier))));
                    }
                    continue;
                }
                reaching.add(s);
            }
            reaching.sort(Comparator.comparingDouble(Scored::score).reversed()
                    .thenComparingDouble(s -> s.variant().calibrationLoss()));
            for (Scored s : reaching) {
                double cosine = cosine(s.quality());
                if (s == winner) {
                    candidates.add(candidate(s.variant(), s.quality(), null));
                } else if (request.minQuality() > 0 && !(cosine >= request.minQuality())) {
                    candidates.add(candidate(s.variant(), s.quality(), String.format(Locale.ROOT,
                            "mean cosine %.4f below the tier's minimum %.4f", cosine, request.minQuality())));
                } else {
                    candidates.add(candidate(s.variant(), s.quality(), String.format(Locale.ROOT,
                            "less accurate than %s (%.4f vs %.4f)", winner.variant().method(), s.score(),
                            winner.score())));
                }
            }
            candidates.addAll(declined);
            if (winner == null) {
                String reason = evaluated.isEmpty() && !skipped.isEmpty()
                        ? "methods " + skipped + " are recorded as not reaching it on " + request.runtime().key()
                        : reaching.isEmpty() ? "no method reached it on " + request.runtime().key()
                        : "no candidate reached it with the minimum quality";
                return new TierDecision(tier, null, reason, candidates);
            }
            return new TierDecision(tier, published.get(tier), String.format(Locale.ROOT, "%s measured %.2fx, mean "
                    + "cosine %.4f: the most accurate of %d reaching %s%s", winner.variant().method(),
                    winner.variant().measuredSpeedup(), cosine(winner.quality()), reaching.size(),
                    TierNames.format(tier), asCanary.getOrDefault(tier, false)
                            ? "; published as a canary beside the tier's stable variant" : ""), candidates);
        }
    }

    /** A variant published for a tier: its id, and whether it entered as a canary beside an earlier stable one. */
    private record Published(String id, boolean canary) {
    }

    private Published publish(PlanRequest request, double tier, CompressedVariant variant, VariantResult quality,
                              int testTexts, String parentSha, boolean synthetic) {
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
                    new VariantManifest.Quality(request.calibration(), testTexts, quality.encoder(),
                            quality.decoder()),
                    variant.structure(), sha, Instant.now().toString(), synthetic));
            progress.accept(String.format(Locale.ROOT, "published %s: measured %.2fx for %s", published,
                    variant.measuredSpeedup(), TierNames.format(tier)));
        }
        // The first variant of a tier becomes its stable answer; a later one enters as a canary at weight 0, judged in
        // shadow against exact before the gateway's rollout judgement steps it up (or rolls it back).
        TierTable table = store.updateTiers(request.model(), new TierChange.Published(TierNames.format(tier), id,
                "job " + request.jobId(), Instant.now().toString()));
        TierTable.Assignment assignment = table.get(TierNames.format(tier));
        return new Published(id, assignment != null && !id.equals(assignment.stable()));
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
