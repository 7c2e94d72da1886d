package dev.tierserve.compressor.method.parallel;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.edit.LayerParallelism;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.latency.LatencyMeter;
import dev.tierserve.compressor.latency.LatencyReport;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.CompressionMethod;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.Scoring;
import dev.tierserve.compressor.method.TargetLadder;
import dev.tierserve.compressor.method.parallel.ParallelResult.Width;
import dev.tierserve.compressor.method.parallel.ParallelResult.Window;
import dev.tierserve.store.RuntimeSettings;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Layer parallelism (Calvo González et al. 2025) as a compression method: every window of consecutive layer
 * pairs (all start positions, all widths) is scored by calibration loss in plain form; for each width the best
 * window is timed against the parent in plain and fused form. A target gets the narrowest width whose faster
 * form measures at or above it. All windows of one width do the same work, so one timing per width stands for
 * all of them. Where no width reaches a target (parallel pairs do the same arithmetic; on one CPU thread they
 * cannot be faster) the target is reported {@link Unreached} with the best measured speedup, never published.
 */
public final class LayerParallelSearch implements CompressionMethod<ParallelResult> {

    static final String PLAIN = "parallel-plain";
    static final String FUSED = "parallel-fused";

    private final ParallelOptions options;

    public LayerParallelSearch(ParallelOptions options) {
        this.options = options;
    }

    @Override
    public ParallelResult compress(MethodContext context, List<Double> targets) {
        long start = System.nanoTime();
        ModelProto parent = context.parent();
        StructureMap map = StructureDetector.detect(parent);
        Scoring scoring = context.scoring(context.calibration(options.scoringTexts(), options.sequence()));

        List<Window> windows = new ArrayList<>();
        for (int pairs = 1; 2 * pairs <= map.layerCount(); pairs++) {
            for (int first = 0; first + 2 * pairs <= map.layerCount(); first++) {
                double loss = scoring.loss(LayerParallelism.parallelise(parent, map, first, pairs, false));
                windows.add(new Window(first, pairs, loss));
            }
        }
        context.log().accept(String.format(Locale.ROOT, "layer parallelism: %d windows scored in %.1f s",
                windows.size(), (System.nanoTime() - start) / 1e9));

        TargetLadder pending = new TargetLadder(targets);
        List<Width> widths = new ArrayList<>();
        List<CompressedVariant> variants = new ArrayList<>();
        for (int pairs = 1; 2 * pairs <= map.layerCount() && !pending.isEmpty(); pairs++) {
            Window best = bestOfWidth(windows, pairs).orElseThrow();
            ModelProto plain = LayerParallelism.parallelise(parent, map, best.start(), pairs, false);
            ModelProto fused = LayerParallelism.parallelise(parent, map, best.start(), pairs, true);
            LatencyReport report = context.measure(List.of(new LatencyMeter.Candidate("parent", parent),
                    new LatencyMeter.Candidate(PLAIN, plain), new LatencyMeter.Candidate(FUSED, fused)));
            Width measured = new Width(best, report.entry(PLAIN).speedup(), report.entry(FUSED).speedup(),
                    report.entry("parent").medianMs(), report.entry(PLAIN).medianMs(), report.entry(FUSED).medianMs());
            widths.add(measured);
            context.log().accept(String.format(Locale.ROOT, "layer parallelism: %s, calibration loss %.5f, plain "
                    + "%.3fx, fused %.3fx", best.label(), best.calibrationLoss(), measured.plainSpeedup(),
                    measured.fusedSpeedup()));
            boolean fusedFaster = measured.fusedSpeedup() >= measured.plainSpeedup();
            double speedup = Math.max(measured.plainSpeedup(), measured.fusedSpeedup());
            for (double target : pending.reachedBy(speedup)) {
                variants.add(variant(target, map, fusedFaster ? fused : plain, fusedFaster ? FUSED : PLAIN, measured,
                        fusedFaster ? measured.fusedMs() : measured.plainMs(), speedup, start));
            }
        }
        double best = widths.stream().mapToDouble(w -> Math.max(w.plainSpeedup(), w.fusedSpeedup())).max().orElse(1);
        RuntimeSettings settings = context.settings();
        return new ParallelResult(windows, widths, variants, pending.unreached("parallel", best,
                String.format(Locale.ROOT, "layer-parallel pairs measured at most %.2fx on %s with %d thread(s), "
                        + "batch %d x %d: fewer sequential steps do not pay off on this runtime", best,
                        settings.provider(), settings.threads(), settings.batch(), settings.sequence())));
    }

    private CompressedVariant variant(double target, StructureMap map, ModelProto model, String method, Width width, double variantMs,
                                      double speedup, long start) {
        Window window = width.best();
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("scoringTexts", options.scoringTexts());
        parameters.put("sequence", options.sequence());
        parameters.put("start", window.start());
        parameters.put("pairs", window.pairs());
        if (map.layout() == StructureMap.Layout.POST_NORM) {
            parameters.put("postNormAdaptation", "each pair shares the second layer's norms");
        }
        return new CompressedVariant(method, target, model, speedup, width.parentMs(), variantMs,
                window.calibrationLoss(), window.label() + " in parallel (" + method.substring("parallel-".length())
                + ")", parameters, (System.nanoTime() - start) / 1e9);
    }

    /** The window of this width with the lowest calibration loss. */
    public static Optional<Window> bestOfWidth(List<Window> windows, int pairs) {
        return windows.stream().filter(w -> w.pairs() == pairs).min(Comparator.comparingDouble(Window::calibrationLoss));
    }
}
