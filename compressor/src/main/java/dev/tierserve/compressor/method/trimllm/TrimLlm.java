package dev.tierserve.compressor.method.trimllm;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.calib.Activation;
import dev.tierserve.compressor.calib.ActivationCollector;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.RelativeError;
import dev.tierserve.compressor.data.Batches;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.edit.SubBlock;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.graph.search.SearchGraph.Probe;
import dev.tierserve.compressor.graph.search.SearchGraphBuilder;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import dev.tierserve.compressor.latency.LatencyReport;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.CompressionMethod;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.Scoring;
import dev.tierserve.compressor.method.TargetLadder;
import dev.tierserve.compressor.method.Unreached;
import dev.tierserve.compressor.method.recovery.OutputProjectionRefit;
import dev.tierserve.compressor.method.recovery.PublishedRefit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * TrimLLM-style progressive layer dropping for a domain, forward-only. At every step each remaining attention and
 * MLP sub-block is scored by the calibration loss (relative output error against the parent on the domain
 * texts) with it gated off on top of the earlier drops, all through one search-graph session; the least harmful
 * goes (ties: the larger output norm first), the physically edited model is timed against the parent, and the
 * first step whose measured speedup reaches a target gives that tier. One trajectory serves every target.
 * <p>
 * The paper fine-tunes between drops; we cannot, so {@link ResidualRecovery} optionally fits a per-channel
 * affine map where blocks went (least squares on calibration activations), and both forms are measured. Each
 * variant published for a tier then has the output projections of its remaining sub-blocks refitted towards the
 * parent's residual stream on all the calibration texts ({@link OutputProjectionRefit}, as ZipLM and Bonsai); the
 * refit changes values, not shapes, so the step's measured speedup stands. The trajectory goes on from the parent's
 * weights.
 */
public final class TrimLlm implements CompressionMethod<TrimLlmResult> {

    static final String METHOD = "trimllm";
    static final String RECOVERED = "trimllm+affine";
    /** Texts per batch of the refit, regrouped by length. */
    private static final int REFIT_BATCH = 16;

    private final TrimLlmOptions options;

    public TrimLlm(TrimLlmOptions options) {
        this.options = options;
    }

    /** The context's calibration texts are the domain's: the first {@code scoringTexts} of them score the drops. */
    @Override
    public TrimLlmResult compress(MethodContext context, List<Double> targets) {
        long start = System.nanoTime();
        ModelProto parent = context.parent();
        StructureMap map = StructureDetector.detect(parent);
        TargetLadder pending = new TargetLadder(targets);
        // With recovery, a corrected variant that measures below its target is tried again at later steps.
        TargetLadder pendingRecovered = new TargetLadder(options.recovery() ? targets : List.of());
        SearchGraph search = SearchGraphBuilder.of(parent, map).subBlockGates()
                .probe(Probe.Kind.ATTENTION_OUTPUT, Probe.Kind.MLP_OUTPUT).build();
        List<EncodedBatch> calibration = context.calibration(options.calibrationTexts(),
                options.calibrationSequence());
        Scoring scoring = context.scoring(Batches.firstTexts(calibration, options.scoringTexts()));
        PublishedRefit refit = new PublishedRefit(options.refitRidge(), context,
                Batches.packedByLength(calibration, REFIT_BATCH), scoring);

        List<TrimStep> steps = new ArrayList<>();
        List<CompressedVariant> variants = new ArrayList<>();
        try (CalibrationRunner.Session scorer = context.runner().open(search.model())) {
            BlockNorms norms = new BlockNorms(search);
            scorer.run(search.defaults(), scoring.batches(), List.of(norms));
            Set<SubBlock> remaining = presentBlocks(map);
            Set<SubBlock> dropped = new TreeSet<>();
            while ((!pending.isEmpty() || !pendingRecovered.isEmpty()) && !remaining.isEmpty()) {
                SubBlock best = null;
                double bestLoss = Double.POSITIVE_INFINITY;
                for (SubBlock candidate : remaining) {
                    Set<SubBlock> off = new TreeSet<>(dropped);
                    off.add(candidate);
                    RelativeError error = scoring.error();
                    scorer.run(gatesOff(search, off), scoring.batches(), List.of(error));
                    if (best == null || lessHarmful(error.value(), norms.of(candidate), bestLoss, norms.of(best))) {
                        best = candidate;
                        bestLoss = error.value();
                    }
                }
                dropped.add(best);
                remaining.remove(best);
                ModelProto variant = SubBlockRemoval.drop(parent, map, dropped);
                LatencyReport report = context.compare(variant,
                        pending.isEmpty() ? pendingRecovered.next() : pending.next());
                TrimStep step = new TrimStep(best, bestLoss, norms.of(best), report.entry("variant").speedup(),
                        report.entry("parent").medianMs(), report.entry("variant").medianMs());
                steps.add(step);
                context.log().accept(String.format(Locale.ROOT, "TrimLLM step %d: drop %s, calibration loss %.5f, "
                                + "measured %.3fx (%.2f vs %.2f ms), %.0f s", steps.size(), best, bestLoss,
                        step.measuredSpeedup(), step.variantMs(), step.parentMs(), (System.nanoTime() - start) / 1e9));
                for (double target : pending.reachedBy(step.measuredSpeedup())) {
                    variants.add(variant(METHOD, target, variant, report, bestLoss, dropped, refit, start));
                }
                if (!pendingRecovered.isEmpty() && step.measuredSpeedup() >= pendingRecovered.next()) {
                    recover(context, map, pendingRecovered, dropped, calibration, scoring, refit, start, variants);
                }
            }
        }
        double best = steps.stream().mapToDouble(TrimStep::measuredSpeedup).max().orElse(1);
        List<Unreached> unreached = new ArrayList<>(pending.unreached(METHOD, best,
                "every sub-block dropped and still below the target"));
        unreached.addAll(pendingRecovered.unreached(RECOVERED, best,
                "every sub-block dropped and the corrected model still below the target"));
        return new TrimLlmResult(steps, variants, unreached);
    }

    /** Lower loss first; within a relative 1e-9 a tie, and the larger output norm goes first. */
    static boolean lessHarmful(double loss, double norm, double bestLoss, double bestNorm) {
        double tolerance = 1e-9 * Math.max(Math.abs(loss), Math.abs(bestLoss));
        if (Math.abs(loss - bestLoss) <= tolerance) {
            return norm > bestNorm;
        }
        return loss < bestLoss;
    }

    /** Fits the affine corrections for the current drops and takes every pending target the result reaches. */
    private void recover(MethodContext context, StructureMap map, TargetLadder pendingRecovered,
                         Set<SubBlock> dropped, List<EncodedBatch> calibration, Scoring scoring, PublishedRefit refit,
                         long start, List<CompressedVariant> variants) {
        ModelProto corrected = ResidualRecovery.fit(context.parent(), map, dropped, calibration, context.runner());
        double loss = scoring.loss(corrected);
        LatencyReport report = context.compare(corrected, pendingRecovered.next());
        double measured = report.entry("variant").speedup();
        context.log().accept(String.format(Locale.ROOT, "TrimLLM with affine recovery after %d drops: calibration "
                + "loss %.5f, measured %.3fx", dropped.size(), loss, measured));
        for (double target : pendingRecovered.reachedBy(measured)) {
            variants.add(variant(RECOVERED, target, corrected, report, loss, dropped, refit, start));
        }
    }

    private CompressedVariant variant(String method, double target, ModelProto dropped, LatencyReport report,
                                      double calibrationLoss, Set<SubBlock> blocks, PublishedRefit refit, long start) {
        PublishedRefit.Outcome refitted = refit.apply(String.format(Locale.ROOT, "TrimLLM %s %.2fx", method,
                target), dropped, calibrationLoss);
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("calibrationTexts", options.calibrationTexts());
        parameters.put("calibrationSequence", options.calibrationSequence());
        parameters.put("scoringTexts", options.scoringTexts());
        parameters.put("recovery", method.equals(RECOVERED) ? "per-channel affine, least squares" : "none");
        parameters.put("dropped", blocks.stream().map(SubBlock::label).toList());
        refitted.record(parameters);
        return new CompressedVariant(method, target, refitted.model(), report.entry("variant").speedup(),
                report.entry("parent").medianMs(), report.entry("variant").medianMs(), calibrationLoss,
                "dropped " + blocks.size() + " sub-blocks: " + blocks, parameters, (System.nanoTime() - start) / 1e9);
    }

    static Set<SubBlock> presentBlocks(StructureMap map) {
        Set<SubBlock> blocks = new TreeSet<>();
        for (TransformerLayer layer : map.layers()) {
            if (layer.attention() != null) {
                blocks.add(SubBlock.attention(layer.index()));
            }
            if (layer.mlp() != null) {
                blocks.add(SubBlock.mlp(layer.index()));
            }
        }
        return blocks;
    }

    /** The search graph's inputs with these sub-blocks' gates at zero. */
    static Map<String, TensorProto> gatesOff(SearchGraph search, Set<SubBlock> off) {
        Map<String, TensorProto> inputs = new HashMap<>(search.defaults());
        for (SubBlock block : off) {
            String gate = block.kind() == SubBlock.Kind.ATTENTION ? search.attentionGates().get(block.layer())
                    : search.mlpGates().get(block.layer());
            inputs.put(gate, TensorData.floatTensor(gate, new long[] {1}, new float[] {0f}));
        }
        return inputs;
    }

    /** Root-mean-square output norm per token of every sub-block on the parent. */
    private static final class BlockNorms implements ActivationCollector {
        private final Map<String, SubBlock> probes = new HashMap<>();
        private final Map<SubBlock, double[]> sums = new HashMap<>();

        BlockNorms(SearchGraph search) {
            search.probes().forEach((name, probe) -> probes.put(name, probe.kind() == Probe.Kind.ATTENTION_OUTPUT
                    ? SubBlock.attention(probe.layer()) : SubBlock.mlp(probe.layer())));
        }

        @Override
        public Set<String> outputs() {
            return probes.keySet();
        }

        @Override
        public void accept(Map<String, Activation> outputs, EncodedBatch batch) {
            probes.forEach((name, block) -> {
                Activation activation = outputs.get(name);
                float[] values = activation.values();
                int width = activation.width();
                double[] sum = sums.computeIfAbsent(block, b -> new double[2]);
                activation.forEachRealToken(batch, (offset, token) -> {
                    double squared = 0;
                    for (int c = 0; c < width; c++) {
                        squared += (double) values[offset + c] * values[offset + c];
                    }
                    sum[0] += squared;
                    sum[1]++;
                });
            });
        }

        double of(SubBlock block) {
            double[] sum = sums.get(block);
            return sum == null || sum[1] == 0 ? 0 : Math.sqrt(sum[0] / sum[1]);
        }
    }
}
