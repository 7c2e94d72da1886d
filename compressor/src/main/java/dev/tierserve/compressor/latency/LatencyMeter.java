package dev.tierserve.compressor.latency;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Measures a parent and its variants side by side in one process on the serving runtime: every session is
 * created and warmed up first, then each round runs every model once (the order rotates between rounds so
 * no model always runs first), and the report gives medians and the speedup parent/variant.
 */
public final class LatencyMeter {

    /** Where the sessions run. */
    public enum Provider { CPU, CUDA }

    private final Provider provider;
    private final int threads;
    private final int warmupRuns;
    private final int rounds;

    private LatencyMeter(Builder builder) {
        this.provider = builder.provider;
        this.threads = builder.threads;
        this.warmupRuns = builder.warmupRuns;
        this.rounds = builder.rounds;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A model to time, named for the report. */
    public record Candidate(String name, ModelProto model) {
    }

    /**
     * @param candidates the parent first, then its variants
     * @param feeds      inputs; each model receives the ones it declares (a variant may have fewer)
     */
    public LatencyReport measure(List<Candidate> candidates, Map<String, OnnxTensor> feeds) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OrtSession> sessions = new ArrayList<>();
        List<Map<String, OnnxTensor>> inputs = new ArrayList<>();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (provider == Provider.CUDA) {
                options.addCUDA(0);
            }
            for (Candidate candidate : candidates) {
                OrtSession session = env.createSession(candidate.model().toByteArray(), options);
                sessions.add(session);
                Map<String, OnnxTensor> own = new HashMap<>(feeds);
                own.keySet().retainAll(session.getInputNames());
                inputs.add(own);
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
            return new LatencyReport(provider, threads, warmupRuns, rounds, entries);
        } catch (OrtException e) {
            throw new IllegalStateException("latency measurement failed: " + e.getMessage(), e);
        } finally {
            for (OrtSession session : sessions) {
                try {
                    session.close();
                } catch (OrtException ignored) {
                    // closing a session cannot be retried; nothing else holds it
                }
            }
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
        private Provider provider = Provider.CPU;
        private int threads = 1;
        private int warmupRuns = 5;
        private int rounds = 20;

        public Builder provider(Provider value) {
            this.provider = value;
            return this;
        }

        /** Intra-op threads; 1 for before/after comparisons on a 2-core machine. */
        public Builder threads(int value) {
            this.threads = value;
            return this;
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
