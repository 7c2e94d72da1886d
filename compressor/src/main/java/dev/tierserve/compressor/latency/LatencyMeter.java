package dev.tierserve.compressor.latency;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.runtime.Feeds;
import dev.tierserve.compressor.runtime.Sessions;
import dev.tierserve.store.RuntimeSettings;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Measures a parent and its variants side by side in one process on the serving runtime: every session is
 * created and warmed up first, then each round runs every model once (the order rotates between rounds so
 * no model always runs first), and the report gives medians and the speedup parent/variant.
 *
 * <p>A speedup is the median of the per-round ratios (the parent's time over the variant's in the same round), so a
 * load that slows the whole machine for a while cancels out, and a spike in one run moves one ratio, not the
 * median. Its 90% distribution-free interval is the spread: a comparison against a target whose interval straddles
 * the target is not decided by it but measured again ({@link #compare(ModelProto, ModelProto, EncodedBatch,
 * double)}), up to {@link Builder#repeats} more times, before the pooled median decides.
 */
public final class LatencyMeter {

    private final RuntimeSettings settings;
    private final int warmupRuns;
    private final int rounds;
    private final int repeats;
    private final Stopwatch stopwatch;

    private LatencyMeter(Builder builder) {
        this.settings = builder.settings;
        this.warmupRuns = builder.warmupRuns;
        this.rounds = builder.rounds;
        this.repeats = builder.repeats;
        this.stopwatch = builder.stopwatch;
    }

    public static Builder builder(RuntimeSettings settings) {
        return new Builder(settings);
    }

    public RuntimeSettings settings() {
        return settings;
    }

    /**
     * A model to time, named for the report, on the meter's settings and {@code interOpThreads} (more than 1: ONNX
     * Runtime's parallel execution mode, which runs independent branches concurrently).
     */
    public record Candidate(String name, ModelProto model, int interOpThreads) {

        public Candidate(String name, ModelProto model) {
            this(name, model, 1);
        }
    }

    /** Times one variant against its parent: the report's entries are named {@code parent} and {@code variant}. */
    public LatencyReport compare(ModelProto parent, ModelProto variant, EncodedBatch batch) {
        return measure(List.of(new Candidate("parent", parent), new Candidate("variant", variant)), batch);
    }

    /**
     * Times one variant against its parent until the interval of its speedup lies wholly above or below
     * {@code target}, or the repeats are spent and the median of all rounds decides: timing noise alone never
     * turns a variant that reaches its target into a miss, and never lets one that does not through.
     */
    public LatencyReport compare(ModelProto parent, ModelProto variant, EncodedBatch batch, double target) {
        return compare(parent, variant, batch, List.of(target));
    }

    /** As {@link #compare(ModelProto, ModelProto, EncodedBatch, double)}, until no target lies within the interval. */
    public LatencyReport compare(ModelProto parent, ModelProto variant, EncodedBatch batch, List<Double> targets) {
        return run(List.of(new Candidate("parent", parent), new Candidate("variant", variant)), batch, targets);
    }

    /**
     * @param candidates the parent first, then its variants
     * @param batch      the inputs, of the settings' batch size and sequence length; each model receives the
     *                   inputs it declares (a variant may have fewer)
     */
    public LatencyReport measure(List<Candidate> candidates, EncodedBatch batch) {
        return run(candidates, batch, List.of());
    }

    private LatencyReport run(List<Candidate> candidates, EncodedBatch batch, List<Double> targets) {
        if (batch.batch() != settings.batch() || batch.sequence() != settings.sequence()) {
            throw new IllegalArgumentException("inputs are " + batch.batch() + " x " + batch.sequence()
                    + " but the settings say " + settings.batch() + " x " + settings.sequence());
        }
        List<OrtSession> sessions = new ArrayList<>();
        List<Map<String, OnnxTensor>> inputs = new ArrayList<>();
        try {
            for (Candidate candidate : candidates) {
                OrtSession session = Sessions.open(candidate.model(), settings.provider(), settings.threads(),
                        candidate.interOpThreads());
                sessions.add(session);
                inputs.add(Feeds.forBatch(session, batch, Set.of()));
            }
            for (int i = 0; i < sessions.size(); i++) {
                for (int w = 0; w < warmupRuns; w++) {
                    sessions.get(i).run(inputs.get(i)).close();
                }
            }
            List<long[]> measured = new ArrayList<>();
            int blocks = 0;
            do {
                for (int r = 0; r < rounds; r++) {
                    long[] round = new long[sessions.size()];
                    for (int k = 0; k < sessions.size(); k++) {
                        int i = (k + measured.size()) % sessions.size();
                        OrtSession session = sessions.get(i);
                        Map<String, OnnxTensor> feed = inputs.get(i);
                        round[i] = stopwatch.time(candidates.get(i).name(), () -> session.run(feed).close());
                    }
                    measured.add(round);
                }
                blocks++;
            } while (blocks <= repeats && straddles(measured, 1, targets));
            return report(candidates, measured, blocks);
        } catch (OrtException e) {
            throw new IllegalStateException("latency measurement failed: " + e.getMessage(), e);
        } finally {
            inputs.forEach(Feeds::close);
            sessions.forEach(Sessions::closeQuietly);
        }
    }

    private static boolean straddles(List<long[]> measured, int candidate, List<Double> targets) {
        if (targets.isEmpty()) {
            return false;
        }
        MedianInterval interval = MedianInterval.of(ratios(measured, candidate));
        return targets.stream().anyMatch(target -> interval.low() < target && target <= interval.high());
    }

    private static double[] ratios(List<long[]> measured, int candidate) {
        return measured.stream().mapToDouble(round -> (double) round[0] / Math.max(1, round[candidate])).toArray();
    }

    private LatencyReport report(List<Candidate> candidates, List<long[]> measured, int blocks) {
        List<LatencyReport.Entry> entries = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
            int index = i;
            long[] nanos = measured.stream().mapToLong(round -> round[index]).toArray();
            MedianInterval speedup = MedianInterval.of(ratios(measured, i));
            entries.add(new LatencyReport.Entry(candidates.get(i).name(), median(nanos) / 1e6,
                    percentile(nanos, 0.1) / 1e6, percentile(nanos, 0.9) / 1e6, speedup.median(), speedup.low(),
                    speedup.high()));
        }
        return new LatencyReport(settings, warmupRuns, measured.size(), blocks - 1, entries);
    }

    private static double median(long[] values) {
        return percentile(values, 0.5);
    }

    private static double percentile(long[] values, double q) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        double position = q * (sorted.length - 1);
        int low = (int) Math.floor(position);
        int high = (int) Math.ceil(position);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }

    public static final class Builder {
        private final RuntimeSettings settings;
        private int warmupRuns = 5;
        private int rounds = 20;
        private int repeats = 3;
        private Stopwatch stopwatch = Stopwatch.system();

        private Builder(RuntimeSettings settings) {
            this.settings = settings;
        }

        public Builder warmupRuns(int value) {
            this.warmupRuns = value;
            return this;
        }

        public Builder rounds(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("at least one round");
            }
            this.rounds = value;
            return this;
        }

        /** How many more blocks of rounds a comparison against a target may take while undecided (default 3). */
        public Builder repeats(int value) {
            if (value < 0) {
                throw new IllegalArgumentException("repeats must not be negative");
            }
            this.repeats = value;
            return this;
        }

        /** What times each run (default: the monotonic clock). */
        public Builder stopwatch(Stopwatch value) {
            this.stopwatch = Objects.requireNonNull(value, "stopwatch");
            return this;
        }

        public LatencyMeter build() {
            return new LatencyMeter(this);
        }
    }
}
