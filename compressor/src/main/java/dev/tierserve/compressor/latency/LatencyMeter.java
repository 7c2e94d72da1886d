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
import java.util.Set;

/**
 * Measures a parent and its variants side by side in one process on the serving runtime: every session is
 * created and warmed up first, then each round runs every model once (the order rotates between rounds so
 * no model always runs first), and the report gives medians and the speedup parent/variant.
 */
public final class LatencyMeter {

    private final RuntimeSettings settings;
    private final int warmupRuns;
    private final int rounds;

    private LatencyMeter(Builder builder) {
        this.settings = builder.settings;
        this.warmupRuns = builder.warmupRuns;
        this.rounds = builder.rounds;
    }

    public static Builder builder(RuntimeSettings settings) {
        return new Builder(settings);
    }

    public RuntimeSettings settings() {
        return settings;
    }

    /** A model to time, named for the report. */
    public record Candidate(String name, ModelProto model) {
    }

    /** Times one variant against its parent: the report's entries are named {@code parent} and {@code variant}. */
    public LatencyReport compare(ModelProto parent, ModelProto variant, EncodedBatch batch) {
        return measure(List.of(new Candidate("parent", parent), new Candidate("variant", variant)), batch);
    }

    /**
     * @param candidates the parent first, then its variants
     * @param batch      the inputs, of the settings' batch size and sequence length; each model receives the
     *                   inputs it declares (a variant may have fewer)
     */
    public LatencyReport measure(List<Candidate> candidates, EncodedBatch batch) {
        if (batch.batch() != settings.batch() || batch.sequence() != settings.sequence()) {
            throw new IllegalArgumentException("inputs are " + batch.batch() + " x " + batch.sequence()
                    + " but the settings say " + settings.batch() + " x " + settings.sequence());
        }
        List<OrtSession> sessions = new ArrayList<>();
        List<Map<String, OnnxTensor>> inputs = new ArrayList<>();
        try {
            for (Candidate candidate : candidates) {
                OrtSession session = Sessions.open(candidate.model(), settings.provider(), settings.threads());
                sessions.add(session);
                inputs.add(Feeds.forBatch(session, batch, Set.of()));
            }
            for (int i = 0; i < sessions.size(); i++) {
                for (int w = 0; w < warmupRuns; w++) {
                    sessions.get(i).run(inputs.get(i)).close();
                }
            }
            long[][] nanos = new long[candidates.size()][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < sessions.size(); k++) {
                    int i = (k + r) % sessions.size();
                    long start = System.nanoTime();
                    sessions.get(i).run(inputs.get(i)).close();
                    nanos[i][r] = System.nanoTime() - start;
                }
            }
            List<LatencyReport.Entry> entries = new ArrayList<>();
            double parent = median(nanos[0]);
            for (int i = 0; i < candidates.size(); i++) {
                double median = median(nanos[i]);
                entries.add(new LatencyReport.Entry(candidates.get(i).name(), median / 1e6,
                        percentile(nanos[i], 0.1) / 1e6, percentile(nanos[i], 0.9) / 1e6, parent / median));
            }
            return new LatencyReport(settings, warmupRuns, rounds, entries);
        } catch (OrtException e) {
            throw new IllegalStateException("latency measurement failed: " + e.getMessage(), e);
        } finally {
            inputs.forEach(Feeds::close);
            sessions.forEach(Sessions::closeQuietly);
        }
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

        public LatencyMeter build() {
            return new LatencyMeter(this);
        }
    }
}
