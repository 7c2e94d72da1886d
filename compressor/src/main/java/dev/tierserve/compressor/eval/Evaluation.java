package dev.tierserve.compressor.eval;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.EmbeddingCollector;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.latency.LatencyMeter;
import dev.tierserve.compressor.latency.LatencyReport;
import dev.tierserve.store.DecoderQuality;
import dev.tierserve.store.EncoderQuality;
import dev.tierserve.store.RuntimeSettings;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Measures variants against their parent in one run: quality on the test split (encoder or decoder metrics)
 * and latency on the serving runtime, interleaved, giving the measured speedup a manifest records.
 */
public final class Evaluation {

    /** Texts the classifier trains on by default; the test texts follow them in the seeded order. */
    public static final int DEFAULT_TRAIN_TEXTS = 1000;

    private final RuntimeSettings latency;
    private final int warmupRuns;
    private final int rounds;
    private final int evaluationSequence;
    private final int evaluationBatch;
    private final int trainTexts;
    private final int testTexts;
    private final long seed;
    private final Pooling pooling;
    private final boolean normalize;

    private Evaluation(Builder builder) {
        this.latency = builder.latency;
        this.warmupRuns = builder.warmupRuns;
        this.rounds = builder.rounds;
        this.evaluationSequence = builder.evaluationSequence;
        this.evaluationBatch = builder.evaluationBatch;
        this.trainTexts = builder.trainTexts;
        this.testTexts = builder.testTexts;
        this.seed = builder.seed;
        this.pooling = builder.pooling;
        this.normalize = builder.normalize;
    }

    public static Builder builder(RuntimeSettings latency) {
        return new Builder(latency);
    }

    /** A named model to evaluate. */
    public record Model(String name, ModelProto proto) {
    }

    public EvaluationReport evaluate(Model parent, List<Model> variants, Path tokenizerJson, List<TextSample> samples,
                                     String dataName) {
        return reference(parent, tokenizerJson, samples, dataName).evaluate(variants);
    }

    /**
     * What every evaluation against {@code parent} on these texts shares, computed once: the splits, the encoded test
     * texts, the parent's embeddings of them and the genre classifier trained on its embeddings (for an encoder). A
     * plan that evaluates its candidates as they come evaluates them against one reference.
     */
    public Reference reference(Model parent, Path tokenizerJson, List<TextSample> samples, String dataName) {
        return new Reference(parent, tokenizerJson, samples, dataName);
    }

    /** The parent's side of an evaluation; see {@link #reference}. */
    public final class Reference {

        private final Model parent;
        private final String dataName;
        private final StructureMap map;
        private final boolean decoder;
        private final DataSplits splits;
        private final List<EncodedBatch> testBatches;
        private final EncodedBatch latencyBatch;
        private final String output;
        private final float[][] parentTest;
        private final RidgeClassifier classifier;
        private final List<String> testLabels;

        private Reference(Model parent, Path tokenizerJson, List<TextSample> samples, String dataName) {
            this.parent = parent;
            this.dataName = dataName;
            this.map = StructureDetector.detect(parent.proto());
            this.decoder = map.isDecoder();
            // The training texts come first in the seeded order even for decoders (unused there), so the test texts
            // are the same ones whatever the model, and disjoint from calibration texts drawn from the same order.
            this.splits = DataSplits.of(samples, seed, trainTexts, 0, testTexts);
            List<EncodedBatch> test;
            List<EncodedBatch> train;
            EncodedBatch timing;
            try (BatchTokenizer evalTokenizer = new BatchTokenizer(tokenizerJson, evaluationSequence);
                 BatchTokenizer latencyTokenizer = new BatchTokenizer(tokenizerJson, latency.sequence())) {
                test = evalTokenizer.encodeAll(splits.test(), evaluationBatch);
                train = decoder ? List.of() : evalTokenizer.encodeAll(splits.calibration(), evaluationBatch);
                timing = latencyTokenizer.encode(splits.test().subList(0, latency.batch()).stream()
                        .map(TextSample::text).toList());
            }
            if (decoder) {
                int vocabulary = map.lmHead().outFeatures();
                test = test.stream().map(b -> DecoderComparison.foldIntoVocabulary(b, vocabulary)).toList();
                timing = DecoderComparison.foldIntoVocabulary(timing, vocabulary);
            }
            this.testBatches = test;
            this.latencyBatch = timing;
            this.testLabels = splits.test().stream().map(TextSample::label).toList();
            if (decoder) {
                this.output = null;
                this.parentTest = null;
                this.classifier = null;
            } else {
                this.output = parent.proto().getGraph().getOutput(0).getName();
                this.parentTest = embed(parent.proto(), output, testBatches);
                boolean labelled = splits.calibration().stream().allMatch(s -> s.label() != null)
                        && testLabels.stream().allMatch(Objects::nonNull);
                this.classifier = labelled && trainTexts > 0 ? RidgeClassifier.fit(embed(parent.proto(), output,
                        train), splits.calibration().stream().map(TextSample::label).toList(), 1.0) : null;
            }
        }

        /** {@code variants} against the parent: quality on the test texts, latency interleaved with the parent's. */
        public EvaluationReport evaluate(List<Model> variants) {
            List<Model> all = new ArrayList<>();
            all.add(parent);
            all.addAll(variants);
            List<LatencyMeter.Candidate> candidates = all.stream()
                    .map(m -> new LatencyMeter.Candidate(m.name(), m.proto())).toList();
            LatencyReport timing = LatencyMeter.builder(latency).warmupRuns(warmupRuns).rounds(rounds).build()
                    .measure(candidates, latencyBatch);

            List<VariantResult> results = new ArrayList<>();
            for (Model model : all) {
                if (decoder) {
                    DecoderQuality quality = DecoderComparison.evaluate(parent.proto(), model.proto(), testBatches,
                            latency.provider(), latency.calibrationThreads(), map.synthetic());
                    results.add(result(model, timing, null, quality));
                } else {
                    float[][] test = model == parent ? parentTest : embed(model.proto(), output, testBatches);
                    results.add(result(model, timing, EncoderComparison.compare(parentTest, test, classifier,
                            testLabels), null));
                }
            }
            return new EvaluationReport(parent.name(), map.synthetic(), latency, warmupRuns, rounds, dataName,
                    decoder ? 0 : trainTexts, splits.test().size(), evaluationSequence,
                    decoder ? null : pooling.name().toLowerCase(Locale.ROOT), decoder ? null : normalize, results);
        }
    }

    private float[][] embed(ModelProto model, String output, List<EncodedBatch> batches) {
        EmbeddingCollector collector = new EmbeddingCollector(output, pooling, normalize);
        // Embedding is a scoring pass, not a latency measurement: every core.
        new CalibrationRunner(latency.provider(), latency.calibrationThreads()).run(model, Map.of(), batches,
                List.of(collector));
        return collector.embeddings();
    }

    private static VariantResult result(Model model, LatencyReport timing, EncoderQuality encoder,
                                        DecoderQuality decoder) {
        LatencyReport.Entry entry = timing.entry(model.name());
        return new VariantResult(model.name(), entry.medianMs(), entry.speedup(), encoder, decoder);
    }

    public static final class Builder {
        private final RuntimeSettings latency;
        private int warmupRuns = 5;
        private int rounds = 20;
        private int evaluationSequence = 128;
        private int evaluationBatch = 16;
        private int trainTexts = DEFAULT_TRAIN_TEXTS;
        private int testTexts = 300;
        private long seed = 42;
        private Pooling pooling = Pooling.MEAN;
        private boolean normalize;

        private Builder(RuntimeSettings latency) {
            this.latency = latency;
        }

        public Builder warmupRuns(int value) {
            this.warmupRuns = value;
            return this;
        }

        public Builder rounds(int value) {
            this.rounds = value;
            return this;
        }

        /** Sequence length for the quality metrics (latency uses the runtime settings' own). */
        public Builder evaluationSequence(int value) {
            this.evaluationSequence = value;
            return this;
        }

        public Builder evaluationBatch(int value) {
            this.evaluationBatch = value;
            return this;
        }

        public Builder trainTexts(int value) {
            this.trainTexts = value;
            return this;
        }

        public Builder testTexts(int value) {
            this.testTexts = value;
            return this;
        }

        public Builder seed(long value) {
            this.seed = value;
            return this;
        }

        public Builder pooling(Pooling value) {
            this.pooling = value;
            return this;
        }

        /**
         * L2-normalise the pooled embeddings, as a served model with {@code normalize} does, before the metrics that
         * are not scale-invariant (the ridge classifier) see them. The cosines and the retrieval agreement (by
         * cosine) are the same either way.
         */
        public Builder normalize(boolean value) {
            this.normalize = value;
            return this;
        }

        public Evaluation build() {
            return new Evaluation(this);
        }
    }
}
