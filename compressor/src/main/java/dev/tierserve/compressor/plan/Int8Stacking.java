package dev.tierserve.compressor.plan;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.edit.DynamicQuantization;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.latency.LatencyMeter;
import dev.tierserve.compressor.latency.LatencyReport;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.Scoring;
import dev.tierserve.compressor.method.baseline.MagnitudePruning;
import dev.tierserve.store.TierNames;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The int8 precision as the planner offers it: the parent quantized alone, and structured variants quantized on top.
 * How much int8 adds to a pruned model is modelled first ({@link Int8GainModel}, from four timed models), so for a
 * tier T the methods are asked for the structured speedup whose int8 copy is expected at T (with a
 * {@value #MARGIN} margin), and each result is quantized and measured against the parent again: a stacked variant's
 * speedup is what it measured, never the model's prediction.
 */
final class Int8Stacking {

    /** Relative headroom over the tier that base targets aim for: the model is fitted on two points only. */
    static final double MARGIN = 0.03;
    /** Under this structured speedup a base is not worth a method run: the int8 parent alone answers the tier. */
    static final double MIN_BASE = 1.05;
    /**
     * Where int8 is expected to give at least this factor at a tier, a float32 variant of the tier (pruned by the
     * whole factor instead of a fraction of it) is not built: it would be pruned that much harder.
     */
    static final double FLOAT_DOMINATED_GAIN = 1.25;
    static final String METHOD = "int8";

    private final MethodContext context;
    private final Scoring scoring;
    private Int8GainModel model;
    private CompressedVariant alone;
    /** Why int8 is not offered on this runtime; null where the quantized parent measured faster. */
    private String notFaster;

    private Int8Stacking(MethodContext context, Scoring scoring) {
        this.context = context;
        this.scoring = scoring;
    }

    /**
     * Times the quantized parent against the parent (again while a tier lies within its speedup interval, so noise
     * does not decide which tiers it answers alone). Where it is faster, times the parent with half of every layer's
     * heads and channels and its int8 copy too, and fits the gain model to the two pairs; where it is not (the low end
     * of its speedup interval at 1 or below: a CPU without fast 8-bit dot products, or a provider that runs the
     * integer MatMuls slowly), int8 is {@linkplain #pays() not offered} and says why.
     */
    static Int8Stacking measure(MethodContext context, List<Double> tiers, List<EncodedBatch> scoring) {
        Int8Stacking stacking = new Int8Stacking(context, context.scoring(scoring));
        ModelProto parent = context.parent();
        long start = System.nanoTime();
        CompressedVariant measured = stacking.quantized(METHOD, tiers.get(0), parent, Map.of(), "int8 MatMuls",
                tiers, start);
        double target = tiers.stream().filter(t -> measured.measuredSpeedup() >= t).mapToDouble(Double::doubleValue)
                .max().orElse(tiers.get(0));
        stacking.alone = withTarget(measured, target);
        double low = ((Number) measured.parameters().get("speedupLow")).doubleValue();
        if (!(low > 1.0)) {
            stacking.notFaster = String.format(Locale.ROOT, "int8 is not faster on %s: the quantized parent measured "
                    + "%.2fx (%.2f ms -> %.2f ms, 90%% interval from %.2fx)", context.settings().key(),
                    measured.measuredSpeedup(), measured.parentMs(), measured.variantMs(), low);
            context.log().accept(stacking.notFaster + "; no int8 candidate is built");
            return stacking;
        }

        ModelProto half = half(parent);
        LatencyReport pair = context.measure(List.of(new LatencyMeter.Candidate("parent", parent),
                new LatencyMeter.Candidate("half", half),
                new LatencyMeter.Candidate("half int8", DynamicQuantization.quantize(half).model())));
        double parentMs = pair.entry("parent").medianMs();
        stacking.model = Int8GainModel.fit(parentMs, parentMs / measured.measuredSpeedup(),
                pair.entry("half").medianMs(), pair.entry("half int8").medianMs());
        context.log().accept(String.format(Locale.ROOT, "int8: the parent quantized measured %.2fx (%.2f ms -> %.2f ms); "
                        + "gain model: %.2f ms untouched, the rest %.2fx faster (half model %.2f -> %.2f ms)",
                measured.measuredSpeedup(), measured.parentMs(), measured.variantMs(), stacking.model.untouched(),
                stacking.model.factor(), pair.entry("half").medianMs(), pair.entry("half int8").medianMs()));
        return stacking;
    }

    /** The parent with half of every layer's heads (whole KV groups) and half of its MLP channels, by magnitude. */
    private static ModelProto half(ModelProto parent) {
        StructureMap map = StructureDetector.detect(parent);
        int[] heads = new int[map.layerCount()];
        int[] channels = new int[map.layerCount()];
        for (int layer = 0; layer < map.layerCount(); layer++) {
            AttentionBlock attention = map.layer(layer).attention();
            heads[layer] = Math.max(1, attention.kvHeads() / 2) * attention.groupSize();
            channels[layer] = Math.max(1, map.layer(layer).mlp().intermediateSize() / 2);
        }
        return MagnitudePruning.prune(parent, heads, channels);
    }

    /** Whether int8 pays on the serving runtime: the quantized parent measured faster than the parent. */
    boolean pays() {
        return notFaster == null;
    }

    /**
     * The quantized parent as a candidate the planner weighed and did not build on, for a runtime where int8 does not
     * {@linkplain #pays() pay}.
     */
    Candidate declined() {
        return new Candidate(METHOD, alone.targetSpeedup(), alone.measuredSpeedup(), Double.NaN,
                alone.calibrationLoss(), notFaster);
    }

    /**
     * The structured speedup to ask for again when {@code stacked}, built on a base for {@code tier}, measured short
     * of it: the base scaled by the miss, with the margin again.
     */
    static double retryBase(CompressedVariant stacked, double tier) {
        double base = ((Number) stacked.parameters().get("structuredMeasuredSpeedup")).doubleValue();
        double scaled = base * tier / stacked.measuredSpeedup() * (1 + MARGIN);
        return Math.round(Math.max(scaled, MIN_BASE) * 1000) / 1000.0;
    }

    /** The parent quantized, built for the fastest tier it is meant to answer alone. */
    CompressedVariant alone() {
        return alone;
    }

    /**
     * The structured speedup to ask the methods for, so that quantized it reaches {@code tier}; empty when none is
     * needed (the quantized parent reaches it) or the gain model says int8 cannot get there.
     */
    OptionalDouble base(double tier) {
        if (alone.measuredSpeedup() >= tier) {
            return OptionalDouble.empty();
        }
        OptionalDouble base = model.base(tier * (1 + MARGIN));
        if (base.isEmpty()) {
            return base;
        }
        double rounded = Math.round(Math.max(base.getAsDouble(), MIN_BASE) * 1000) / 1000.0;
        return OptionalDouble.of(rounded);
    }

    /** Whether int8 serves {@code tier} with so much less pruning that a float32 variant of it is not worth building. */
    boolean dominates(double tier) {
        if (alone.measuredSpeedup() >= tier) {
            return true;
        }
        OptionalDouble base = base(tier);
        return base.isPresent() && tier / base.getAsDouble() >= FLOAT_DOMINATED_GAIN;
    }

    /** A structured variant quantized and timed against the parent, as a candidate for {@code tier}. */
    CompressedVariant stack(CompressedVariant structured, double tier) {
        long start = System.nanoTime();
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("structuredMethod", structured.method());
        parameters.put("structuredMeasuredSpeedup", structured.measuredSpeedup());
        parameters.put("structured", structured.parameters());
        CompressedVariant stacked = quantized(structured.method() + "+" + METHOD, tier, structured.model(), parameters,
                structured.structure() + "; int8 MatMuls", List.of(tier), start);
        context.log().accept(String.format(Locale.ROOT, "int8 %s: %s at %.2fx quantized measured %.2fx",
                TierNames.format(tier), structured.method(), structured.measuredSpeedup(), stacked.measuredSpeedup()));
        return new CompressedVariant(stacked.method(), tier, stacked.model(), stacked.measuredSpeedup(),
                stacked.parentMs(), stacked.variantMs(), stacked.calibrationLoss(), stacked.structure(),
                stacked.parameters(), structured.seconds() + stacked.seconds());
    }

    /** {@code model} quantized, timed against the parent (until no target is within its interval) and scored. */
    private CompressedVariant quantized(String method, double tier, ModelProto model, Map<String, Object> structured,
                                        String structure, List<Double> targets, long start) {
        DynamicQuantization.Result result = DynamicQuantization.quantize(model);
        LatencyReport report = context.compare(result.model(), targets);
        double loss = scoring.loss(result.model());
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("precision", Precision.INT8.label());
        parameters.put("weightRange", DynamicQuantization.REDUCED_RANGE);
        parameters.put("quantizedMatMuls", result.quantized());
        parameters.putAll(structured);
        LatencyReport.Entry variant = report.entry("variant");
        parameters.put("speedupLow", variant.speedupLow());
        parameters.put("speedupHigh", variant.speedupHigh());
        return new CompressedVariant(method, tier, result.model(), variant.speedup(), report.entry("parent").medianMs(),
                variant.medianMs(), loss, structure, parameters, (System.nanoTime() - start) / 1e9);
    }

    private static CompressedVariant withTarget(CompressedVariant v, double target) {
        return new CompressedVariant(v.method(), target, v.model(), v.measuredSpeedup(), v.parentMs(), v.variantMs(),
                v.calibrationLoss(), v.structure(), v.parameters(), v.seconds());
    }
}
