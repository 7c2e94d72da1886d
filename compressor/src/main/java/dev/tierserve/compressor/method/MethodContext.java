package dev.tierserve.compressor.method;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.OutputRecorder;
import dev.tierserve.compressor.data.Batches;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.latency.ComponentLatencyMeter;
import dev.tierserve.compressor.latency.ComponentLatencyTable;
import dev.tierserve.compressor.latency.LatencyMeter;
import dev.tierserve.compressor.latency.LatencyReport;
import dev.tierserve.compressor.latency.Stopwatch;
import dev.tierserve.store.RuntimeSettings;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What every {@link CompressionMethod} works from: the parent, its calibration texts, the calibration runner, and
 * the latency meter with the batch every comparison times. One context serves every method of a plan, so all of
 * them are timed the same way and score against the same parent.
 */
public final class MethodContext {

    /** Tokenised calibration texts: the first {@code texts} of one fixed order, at {@code sequence} tokens. */
    @FunctionalInterface
    public interface CalibrationTexts {
        List<EncodedBatch> first(int texts, int sequence);
    }

    private final ModelProto parent;
    /** The parent's first output, on which losses are measured. */
    private final String output;
    private final CalibrationTexts calibration;
    /** The batch every latency comparison times, of the settings' batch size and sequence length. */
    private final EncodedBatch timing;
    private final LatencyMeter meter;
    private final ComponentLatencyMeter componentMeter;
    private final Path latencyTables;
    private final CalibrationRunner runner;
    private final Consumer<String> log;
    private ComponentLatencyTable table;

    private MethodContext(Builder builder) {
        this.parent = builder.parent;
        this.output = parent.getGraph().getOutput(0).getName();
        this.calibration = Objects.requireNonNull(builder.calibration, "calibration texts");
        this.timing = Objects.requireNonNull(builder.timing, "timing batch");
        this.meter = LatencyMeter.builder(builder.settings).warmupRuns(builder.warmupRuns).rounds(builder.rounds)
                .stopwatch(builder.stopwatch).build();
        this.componentMeter = new ComponentLatencyMeter(builder.settings, builder.warmupRuns, builder.rounds);
        this.latencyTables = builder.latencyTables;
        this.runner = new CalibrationRunner(builder.settings.provider(), builder.settings.calibrationThreads());
        this.log = builder.log;
    }

    public static Builder builder(ModelProto parent, RuntimeSettings settings) {
        return new Builder(parent, settings);
    }

    public ModelProto parent() {
        return parent;
    }

    public RuntimeSettings settings() {
        return meter.settings();
    }

    public Consumer<String> log() {
        return log;
    }

    public CalibrationRunner runner() {
        return runner;
    }

    /** The first {@code texts} calibration texts at {@code sequence} tokens, in batches. */
    public List<EncodedBatch> calibration(int texts, int sequence) {
        return calibration.first(texts, sequence);
    }

    /**
     * Times {@code variant} against the parent until noise cannot decide whether it reaches {@code target}
     * ({@link LatencyMeter#compare(ModelProto, ModelProto, EncodedBatch, double)}).
     */
    public LatencyReport compare(ModelProto variant, double target) {
        return meter.compare(parent, variant, timing, target);
    }

    /** As {@link #compare(ModelProto, double)}, until no target lies within the speedup's interval. */
    public LatencyReport compare(ModelProto variant, List<Double> targets) {
        return meter.compare(parent, variant, timing, targets);
    }

    /** Times several models side by side in one run on the timing batch. */
    public LatencyReport measure(List<LatencyMeter.Candidate> candidates) {
        return meter.measure(candidates, timing);
    }

    /** {@code batches} with the parent's outputs recorded on them, to score candidates against. */
    public Scoring scoring(List<EncodedBatch> batches) {
        OutputRecorder reference = new OutputRecorder(output);
        runner.run(parent, Map.of(), batches, List.of(reference));
        return new Scoring(batches, reference, output, runner);
    }

    /**
     * The parent's component latency table on these settings: measured once per context, and kept in the
     * latency-table directory when there is one, so later plans of the same parent load it.
     */
    public synchronized ComponentLatencyTable latencyTable() {
        if (table == null) {
            table = latencyTables == null ? componentMeter.measure(parent, timing)
                    : componentMeter.loadOrMeasure(parent, timing, latencyTables);
        }
        return table;
    }

    public static final class Builder {
        private final ModelProto parent;
        private final RuntimeSettings settings;
        private CalibrationTexts calibration;
        private EncodedBatch timing;
        private int warmupRuns = 5;
        private int rounds = 20;
        private Stopwatch stopwatch = Stopwatch.system();
        private Path latencyTables;
        private Consumer<String> log = line -> { };

        private Builder(ModelProto parent, RuntimeSettings settings) {
            this.parent = Objects.requireNonNull(parent, "parent");
            this.settings = Objects.requireNonNull(settings, "settings");
        }

        public Builder calibration(CalibrationTexts texts) {
            this.calibration = texts;
            return this;
        }

        /** Fixed calibration batches: a method asking for fewer texts gets the first of them. */
        public Builder calibration(List<EncodedBatch> batches) {
            return calibration((texts, sequence) -> Batches.firstTexts(batches, texts));
        }

        public Builder timing(EncodedBatch batch) {
            this.timing = batch;
            return this;
        }

        /** Warm-up runs per model and interleaved rounds of every latency measurement (default 5 and 20). */
        public Builder latencyRuns(int warmup, int measured) {
            if (warmup < 0 || measured < 1) {
                throw new IllegalArgumentException("latency runs: warm-up >= 0 and rounds >= 1, got " + warmup
                        + " and " + measured);
            }
            this.warmupRuns = warmup;
            this.rounds = measured;
            return this;
        }

        public Builder stopwatch(Stopwatch value) {
            this.stopwatch = Objects.requireNonNull(value);
            return this;
        }

        /** Where component latency tables are kept between plans. */
        public Builder latencyTables(Path directory) {
            this.latencyTables = directory;
            return this;
        }

        public Builder log(Consumer<String> value) {
            this.log = Objects.requireNonNull(value);
            return this;
        }

        public MethodContext build() {
            return new MethodContext(this);
        }
    }
}
