package dev.tierserve.compressor.method.bonsai;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.ChannelRmsCollector;
import dev.tierserve.compressor.calib.RelativeError;
import dev.tierserve.compressor.data.Batches;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.edit.ChannelPruning;
import dev.tierserve.compressor.graph.edit.HeadPruning;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.graph.search.SearchGraph.Probe;
import dev.tierserve.compressor.graph.search.SearchGraphBuilder;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import dev.tierserve.compressor.latency.LatencyReport;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.CompressionMethod;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.Scoring;
import dev.tierserve.compressor.method.TargetLadder;
import dev.tierserve.compressor.method.recovery.OutputProjectionRefit;
import dev.tierserve.compressor.method.recovery.PublishedRefit;
import org.ejml.data.FMatrixRMaj;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Bonsai (Dery et al. 2024): structured pruning from forward passes only. Each round ranks the current model's
 * units (KV groups of heads, groups of MLP channels) by a Wanda-like prior, fixes the top ones, evaluates sampled
 * sub-models (antithetic pairs over the candidates) through the mask inputs of one search-graph session, fits a
 * sparse linear model of calibration loss on the keep-vectors (L1, penalty by cross-validated rank correlation),
 * prunes the candidates whose presence helps least, physically shrinks and times the result against the parent.
 * In the round that reaches a target, the round's pruning is re-applied in quarters so the tier stops at the
 * first quarter whose measured speedup reaches it. The variant published for a tier then has its output
 * projections refitted towards the parent's residual stream on all the calibration texts ({@link
 * OutputProjectionRefit}, as ZipLM does; the paper fine-tunes instead, which needs gradients); the refit changes
 * values, not shapes, so the measured speedup stands. The rounds go on from the pruned weights.
 */
public final class Bonsai implements CompressionMethod<BonsaiResult> {

    static final String METHOD = "bonsai";
    private static final int CHUNKS = 4;
    /** Texts per batch of the refit, regrouped by length. */
    private static final int REFIT_BATCH = 16;

    private final BonsaiOptions options;

    public Bonsai(BonsaiOptions options) {
        this.options = options;
    }

    @Override
    public BonsaiResult compress(MethodContext context, List<Double> targets) {
        long start = System.nanoTime();
        Consumer<String> log = context.log();
        log.accept("Bonsai: " + options);
        TargetLadder pending = new TargetLadder(targets);
        List<EncodedBatch> calibration = context.calibration(Math.max(options.scoringTexts(), options.priorTexts()),
                options.sequence());
        Scoring scoring = context.scoring(Batches.firstTexts(calibration, options.scoringTexts()));
        List<EncodedBatch> priorBatches = Batches.firstTexts(calibration, options.priorTexts());
        PublishedRefit refit = new PublishedRefit(options.refitRidge(), context,
                Batches.packedByLength(calibration, REFIT_BATCH), scoring);

        List<BonsaiRound> rounds = new ArrayList<>();
        List<CompressedVariant> variants = new ArrayList<>();
        ModelProto model = context.parent();
        double best = 1;
        while (!pending.isEmpty()) {
            long roundStart = System.nanoTime();
            StructureMap map = StructureDetector.detect(model);
            List<PruningUnit> units = units(model, map, context.runner(), priorBatches);
            if (units.isEmpty()) {
                break;
            }
            List<Integer> byPrior = IntStream.range(0, units.size()).boxed()
                    .sorted(Comparator.comparingDouble(u -> units.get(u).prior())).toList();
            List<Integer> candidates = byPrior.subList(0, Math.max(Math.min(2, units.size()),
                    (int) Math.ceil(options.candidateFraction() * units.size())));
            Ranking ranking = rank(model, map, units, candidates, context.runner(), scoring,
                    options.seed() + rounds.size());
            List<Integer> order = ranking.leastImportantFirst();
            int count = Math.min(candidates.size(), Math.max(1, (int) Math.round(options.roundFraction() * units.size())));
            List<PruningUnit> chosen = order.subList(0, count).stream().map(units::get).toList();

            ModelProto next = shrink(model, map, chosen);
            LatencyReport report = context.compare(next, pending.next());
            double measured = report.entry("variant").speedup();
            if (measured >= pending.next()) {
                // Re-apply the round in quarters and stop at the first that reaches the target.
                for (int chunk = 1; chunk < CHUNKS; chunk++) {
                    int partial = Math.max(1, count * chunk / CHUNKS);
                    ModelProto candidate = shrink(model, map, chosen.subList(0, partial));
                    LatencyReport partialReport = context.compare(candidate, pending.next());
                    if (partialReport.entry("variant").speedup() >= pending.next()) {
                        next = candidate;
                        report = partialReport;
                        count = partial;
                        break;
                    }
                }
                measured = report.entry("variant").speedup();
            }
            model = next;
            best = Math.max(best, measured);
            BonsaiRound round = new BonsaiRound(units.size(), candidates.size(), ranking.losses().length,
                    Arrays.stream(ranking.losses()).min().orElse(0), ranking.fit().rankCorrelation(), count, measured,
                    (System.nanoTime() - roundStart) / 1e9);
            rounds.add(round);
            log.accept(String.format(Locale.ROOT, "Bonsai round %d: %d units, %d candidates, %d samples (best loss %.5f), "
                            + "regression rank correlation %.3f, pruned %d, measured %.3fx, %.0f s (total %.0f s)",
                    rounds.size(), units.size(), candidates.size(), round.samples(), round.bestSampleLoss(),
                    round.rankCorrelation(), count, measured, round.seconds(), (System.nanoTime() - start) / 1e9));
            for (double target : pending.reachedBy(measured)) {
                variants.add(variant(target, model, report, refit, scoring, rounds, start));
            }
        }
        return new BonsaiResult(rounds, variants, pending.unreached(METHOD, best,
                "every unit pruned and still below the target"));
    }

    /**
     * One round's evidence: the sampled sub-models' losses, the regression on the candidates' keep-variables
     * (coefficients indexed like {@code candidates}) and the candidates' unit indices.
     */
    record Ranking(List<Integer> candidates, List<PruningUnit> units, double[] losses, SparseRegression.Fit fit) {

        /** Importance = how much keeping a unit lowers the loss (−β): least important first, ties by prior. */
        List<Integer> leastImportantFirst() {
            return IntStream.range(0, candidates.size()).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(k -> -fit.coefficients()[k])
                            .thenComparingDouble(k -> units.get(candidates.get(k)).prior()))
                    .map(candidates::get).toList();
        }
    }

    /** Samples antithetic sub-models over the candidates, scores them through one session, regresses. */
    Ranking rank(ModelProto model, StructureMap map, List<PruningUnit> units, List<Integer> candidates,
                 CalibrationRunner runner, Scoring scoring, long seed) {
        SearchGraph search = SearchGraphBuilder.of(model, map).headMasks().channelMasks().build();
        List<boolean[]> masks = new AntitheticSampler(units.size(), candidates, options.dropFraction(), seed)
                .sample(Math.max(options.folds(), options.samplesPerRound() / 2));
        double[] losses = new double[masks.size()];
        try (CalibrationRunner.Session session = runner.open(search.model())) {
            for (int s = 0; s < masks.size(); s++) {
                RelativeError error = scoring.error();
                session.run(maskInputs(search, units, masks.get(s)), scoring.batches(), List.of(error));
                losses[s] = error.value();
            }
        }
        return new Ranking(candidates, units, losses, regress(masks, losses, candidates, options.folds()));
    }

    /**
     * The regression of loss on the candidates' keep-variables. Returned coefficients are indexed like
     * {@code candidates}.
     */
    static SparseRegression.Fit regress(List<boolean[]> masks, double[] losses, List<Integer> candidates, int folds) {
        double[][] x = new double[masks.size()][candidates.size()];
        for (int s = 0; s < masks.size(); s++) {
            for (int k = 0; k < candidates.size(); k++) {
                x[s][k] = masks.get(s)[candidates.get(k)] ? 1 : 0;
            }
        }
        return SparseRegression.fitCrossValidated(x, losses, folds);
    }

    private CompressedVariant variant(double target, ModelProto pruned, LatencyReport report, PublishedRefit refit,
                                      Scoring scoring, List<BonsaiRound> rounds, long start) {
        double loss = scoring.loss(pruned);
        PublishedRefit.Outcome refitted = refit.apply(String.format(Locale.ROOT, "Bonsai %.2fx", target), pruned,
                loss);
        ModelProto model = refitted.model();
        StructureMap map = StructureDetector.detect(model);
        StringBuilder structure = new StringBuilder();
        for (TransformerLayer layer : map.layers()) {
            structure.append(structure.isEmpty() ? "" : ", ").append("L").append(layer.index()).append(": ")
                    .append(layer.attention() == null ? 0 : layer.attention().heads()).append(" heads, ")
                    .append(layer.mlp() == null ? 0 : layer.mlp().intermediateSize()).append(" channels");
        }
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("options", options);
        parameters.put("rounds", rounds.size());
        refitted.record(parameters);
        return new CompressedVariant(METHOD, target, model, report.entry("variant").speedup(),
                report.entry("parent").medianMs(), report.entry("variant").medianMs(), loss,
                structure.toString(), parameters, (System.nanoTime() - start) / 1e9);
    }

    // ---- units and their priors ----

    List<PruningUnit> units(ModelProto model, StructureMap map, CalibrationRunner runner,
                                    List<EncodedBatch> batches) {
        SearchGraph probes = SearchGraphBuilder.of(model, map)
                .probe(Probe.Kind.ATTENTION_CONTEXT, Probe.Kind.MLP_ACTIVATION).build();
        Map<String, ChannelRmsCollector> collectors = new TreeMap<>();
        probes.probes().keySet().forEach(name -> collectors.put(name, new ChannelRmsCollector(name)));
        runner.run(probes.model(), probes.defaults(), batches, List.copyOf(collectors.values()));
        MutableGraph graph = new MutableGraph(model);
        List<PruningUnit> units = new ArrayList<>();
        for (TransformerLayer layer : map.layers()) {
            AttentionBlock attention = layer.attention();
            if (attention != null) {
                double[] rms = collectors.get(SearchGraph.probeName(layer.index(), Probe.Kind.ATTENTION_CONTEXT)).rms();
                double[] rowPriors = rowPriors(graph, attention.output().weight(), rms);
                int group = attention.groupSize();
                int rows = group * attention.headDim();
                for (int g = 0; g < attention.kvHeads(); g++) {
                    double prior = Arrays.stream(rowPriors, g * rows, (g + 1) * rows).sum();
                    int[] heads = IntStream.range(g * group, (g + 1) * group).toArray();
                    units.add(new PruningUnit(layer.index(), true, heads, prior));
                }
            }
            if (layer.mlp() != null) {
                double[] rms = collectors.get(SearchGraph.probeName(layer.index(), Probe.Kind.MLP_ACTIVATION)).rms();
                double[] rowPriors = rowPriors(graph, layer.mlp().down().weight(), rms);
                List<Integer> byPrior = IntStream.range(0, rowPriors.length).boxed()
                        .sorted(Comparator.comparingDouble(c -> rowPriors[c])).toList();
                for (int from = 0; from < byPrior.size(); from += options.channelGroup()) {
                    int[] channels = byPrior.subList(from, Math.min(byPrior.size(), from + options.channelGroup()))
                            .stream().mapToInt(Integer::intValue).sorted().toArray();
                    units.add(new PruningUnit(layer.index(), false, channels,
                            Arrays.stream(channels).mapToDouble(c -> rowPriors[c]).sum()));
                }
            }
        }
        return units;
    }

    /** ‖row r of W_out‖ · rms(input column r) for every row of an output projection. */
    private static double[] rowPriors(MutableGraph graph, String weight, double[] rms) {
        FMatrixRMaj w = TensorData.matrix(graph.initializer(weight).orElseThrow(() -> new IllegalStateException("no initializer " + weight)));
        double[] priors = new double[w.numRows];
        for (int r = 0; r < w.numRows; r++) {
            double norm = 0;
            for (int c = 0; c < w.numCols; c++) {
                norm += (double) w.get(r, c) * w.get(r, c);
            }
            priors[r] = Math.sqrt(norm) * rms[r];
        }
        return priors;
    }

    // ---- masks and physical pruning ----

    /** The search graph's inputs with every unit the keep-vector drops masked out. */
    static Map<String, TensorProto> maskInputs(SearchGraph search, List<PruningUnit> units, boolean[] keep) {
        Map<String, float[]> masks = new HashMap<>();
        for (int u = 0; u < units.size(); u++) {
            if (keep[u]) {
                continue;
            }
            PruningUnit unit = units.get(u);
            String name = unit.attention() ? search.headMasks().get(unit.layer())
                    : search.channelMasks().get(unit.layer());
            float[] mask = masks.computeIfAbsent(name, n -> TensorData.floats(search.defaults().get(n)).clone());
            for (int member : unit.members()) {
                mask[member] = 0f;
            }
        }
        Map<String, TensorProto> inputs = new HashMap<>(search.defaults());
        masks.forEach((name, values) -> inputs.put(name, TensorData.floatTensor(name, new long[] {values.length},
                values)));
        return inputs;
    }

    /** Removes the units physically, last layer first so lower layer indices stay valid. */
    static ModelProto shrink(ModelProto model, StructureMap map, List<PruningUnit> removed) {
        Map<Integer, Set<Integer>> heads = new TreeMap<>(Comparator.reverseOrder());
        Map<Integer, Set<Integer>> channels = new TreeMap<>(Comparator.reverseOrder());
        for (PruningUnit unit : removed) {
            Set<Integer> target = (unit.attention() ? heads : channels).computeIfAbsent(unit.layer(), l -> new TreeSet<>());
            Arrays.stream(unit.members()).forEach(target::add);
        }
        Set<Integer> layers = new TreeSet<>(Comparator.reverseOrder());
        layers.addAll(heads.keySet());
        layers.addAll(channels.keySet());
        ModelProto result = model;
        for (int layer : layers) {
            if (channels.containsKey(layer)) {
                result = ChannelPruning.pruneChannels(result, StructureDetector.detect(result), layer,
                        channels.get(layer));
            }
            if (heads.containsKey(layer)) {
                result = HeadPruning.pruneHeads(result, StructureDetector.detect(result), layer, heads.get(layer));
            }
        }
        return result;
    }
}
