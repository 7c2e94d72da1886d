package dev.tierserve.compressor.plan;

import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.store.RuntimeSettings;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What the tier planner is asked to do: which model, which tiers, with which methods, data and runtime. Built with
 * {@link #builder(String, Path)}; everything but the model has a default.
 *
 * @param parentFile       the parent's {@code model.onnx}
 * @param tokenizer        the parent's {@code tokenizer.json} (default: beside the parent file)
 * @param calibrationTexts 0: each method's own default
 * @param minQuality       below this mean cosine to the parent (held-out texts) a tier publishes nothing; 0: none
 * @param pooling          how the encoder quality metrics pool token states into sentence embeddings
 * @param normalize        whether those embeddings are L2-normalised before use, as the served model's are
 * @param jobId            the job this plan runs for, recorded in every manifest it publishes (null: none)
 * @param precisions       the precisions every method's variants are tried at ({@link Precision#FLOAT32}: as built)
 */
public record PlanRequest(String model, Path parentFile, Path tokenizer, List<Double> tiers, List<Method> methods, String calibration,
                          int calibrationTexts, int testTexts, RuntimeSettings runtime, double minQuality, long seed,
                          Pooling pooling, boolean normalize, boolean recovery, String jobId,
                          List<Precision> precisions) {

    public PlanRequest {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(parentFile, "parentFile");
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(pooling, "pooling");
        tiers = tiers.stream().distinct().sorted().toList();
        methods = methods.stream().distinct().sorted().toList();
        precisions = precisions.stream().distinct().sorted().toList();
        if (precisions.isEmpty()) {
            throw new IllegalArgumentException("at least one precision");
        }
        if (tiers.isEmpty() || tiers.stream().anyMatch(t -> t <= 1.0)) {
            throw new IllegalArgumentException("tiers must be speedups above 1, got " + tiers);
        }
    }

    public static Builder builder(String model, Path parentFile) {
        return new Builder(model, parentFile);
    }

    public PlanRequest withTiers(List<Double> remaining) {
        return new PlanRequest(model, parentFile, tokenizer, remaining, methods, calibration, calibrationTexts,
                testTexts, runtime, minQuality, seed, pooling, normalize, recovery, jobId, precisions);
    }

    public static final class Builder {
        private final String model;
        private final Path parentFile;
        private Path tokenizer;
        private List<Double> tiers = List.of(1.5, 2.0);
        private List<Method> methods = Method.defaults();
        private String calibration = "brown";
        private int calibrationTexts;
        private int testTexts = 300;
        private RuntimeSettings runtime = RuntimeSettings.cpu(1, 1, 128);
        private double minQuality;
        private long seed = 42;
        private Pooling pooling = Pooling.MEAN;
        private boolean normalize;
        private boolean recovery = true;
        private String jobId;
        private List<Precision> precisions = Precision.defaults();

        private Builder(String model, Path parentFile) {
            this.model = model;
            this.parentFile = parentFile;
        }

        /** The parent's {@code tokenizer.json}; by default the one beside the parent file. */
        public Builder tokenizer(Path value) {
            this.tokenizer = value;
            return this;
        }

        public Builder tiers(List<Double> value) {
            this.tiers = value;
            return this;
        }

        /** The structured methods to run (default: {@link Method#defaults()}); none leaves the parent quantized alone as the only candidate. */
        public Builder methods(List<Method> value) {
            this.methods = value;
            return this;
        }

        /** "brown" (the bundled corpus) or a text/JSONL file. */
        public Builder calibration(String value) {
            this.calibration = value;
            return this;
        }

        public Builder calibrationTexts(int value) {
            this.calibrationTexts = value;
            return this;
        }

        public Builder testTexts(int value) {
            this.testTexts = value;
            return this;
        }

        public Builder runtime(RuntimeSettings value) {
            this.runtime = value;
            return this;
        }

        public Builder minQuality(double value) {
            this.minQuality = value;
            return this;
        }

        public Builder seed(long value) {
            this.seed = value;
            return this;
        }

        /** How the quality metrics pool token states into sentence embeddings (default: mean). */
        public Builder pooling(Pooling value) {
            this.pooling = value;
            return this;
        }

        /** Whether the quality metrics L2-normalise the pooled embeddings, as the served model does (default: no). */
        public Builder normalize(boolean value) {
            this.normalize = value;
            return this;
        }

        /** TrimLLM's closed-form affine recovery after dropped spans (on by default). */
        public Builder recovery(boolean value) {
            this.recovery = value;
            return this;
        }

        public Builder jobId(String value) {
            this.jobId = value;
            return this;
        }

        /** The precisions to try each method's variants at (default: {@link Precision#defaults()}). */
        public Builder precisions(List<Precision> value) {
            this.precisions = value;
            return this;
        }

        public PlanRequest build() {
            Path tokenizerJson = tokenizer != null ? tokenizer
                    : parentFile.toAbsolutePath().resolveSibling("tokenizer.json");
            return new PlanRequest(model, parentFile, tokenizerJson, tiers, methods, calibration, calibrationTexts,
                    testTexts, runtime, minQuality, seed, pooling, normalize, recovery, jobId, precisions);
        }
    }
}
