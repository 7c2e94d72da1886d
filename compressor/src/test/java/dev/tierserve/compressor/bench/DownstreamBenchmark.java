package dev.tierserve.compressor.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.EmbeddingCollector;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextFiles;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.RidgeClassifier;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.latency.LatencyMeter;
import dev.tierserve.compressor.latency.LatencyReport;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.CompressionMethod;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.MethodResult;
import dev.tierserve.compressor.method.bonsai.Bonsai;
import dev.tierserve.compressor.method.bonsai.BonsaiOptions;
import dev.tierserve.compressor.method.parallel.LayerParallelSearch;
import dev.tierserve.compressor.method.parallel.ParallelOptions;
import dev.tierserve.compressor.method.trimllm.TrimLlm;
import dev.tierserve.compressor.method.trimllm.TrimLlmOptions;
import dev.tierserve.compressor.report.QualitySpeedupChart;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.StoredVariant;
import dev.tierserve.store.TierNames;
import dev.tierserve.store.TierTable;
import dev.tierserve.store.VariantStore;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * BGE-small's published tiers, and TrimLLM's, Bonsai's and layer parallelism's variants at 1.5x and 2x, against
 * all-MiniLM-L6-v2 (a distilled model of about the 2x tier's speed) on downstream tasks, each model with its own
 * tokenizer and pooling, embeddings L2-normalised:
 * <ul>
 *   <li>genre classification of Brown sentences: a ridge classifier trained on each model's own embeddings
 *       (retrained), and the parent's classifier applied to a variant's embeddings (drop-in: what an index built on
 *       the parent sees after the switch); {@value #TRAIN} training and {@value #TEST} test texts;</li>
 *   <li>retrieval: {@value #PASSAGES} passages of {@value #SENTENCES} consecutive corpus sentences, each cut into
 *       halves by words; each first half must find its own second half among all second halves by cosine
 *       (recall@1, recall@10);</li>
 *   <li>with {@code -Ddownstream.jsonl=FILE}: the same classification on a labelled JSONL file.</li>
 * </ul>
 * Intervals are 95% Wilson intervals; differences against MiniLM-L6 are paired (same texts) with a 95% normal interval.
 * Run after {@code PrecisionBenchmark} (it reads both its stores: the tiers with int8 and the float32-only ones):
 * {@code mvn -B -pl compressor -Pbenchmark test -Dtest=DownstreamBenchmark}.
 */
@Tag("benchmark")
class DownstreamBenchmark {

    private static final int TRAIN = 2000;
    private static final int TEST = 1500;
    private static final int PASSAGES = 1500;
    private static final int SENTENCES = 3;
    private static final int SEQUENCE = 128;
    private static final long SEED = 42;
    private static final double Z = 1.96;

    /** A model as the benchmark embeds it, and the curve it belongs to on the charts. */
    private record Encoder(String name, String family, ModelProto model, Path tokenizer, Pooling pooling) {
    }

    /** Per-item outcomes (1 = right) of one model on one task, for intervals and paired differences. */
    private record Outcomes(double[] hits) {
        double mean() {
            double sum = 0;
            for (double h : hits) {
                sum += h;
            }
            return sum / hits.length;
        }

        String wilson() {
            int n = hits.length;
            double p = mean();
            double centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n);
            double half = Z * Math.sqrt(p * (1 - p) / n + Z * Z / (4.0 * n * n)) / (1 + Z * Z / n);
            return String.format(Locale.ROOT, "%5.1f%% [%4.1f, %4.1f]", 100 * p, 100 * (centre - half),
                    100 * (centre + half));
        }

        String minus(Outcomes other) {
            int n = hits.length;
            double[] d = new double[n];
            double mean = 0;
            for (int i = 0; i < n; i++) {
                d[i] = hits[i] - other.hits[i];
                mean += d[i] / n;
            }
            double variance = 0;
            for (double x : d) {
                variance += (x - mean) * (x - mean) / (n - 1);
            }
            double half = Z * Math.sqrt(variance / n);
            return String.format(Locale.ROOT, "%+5.1f [%+4.1f, %+4.1f]", 100 * mean, 100 * (mean - half),
                    100 * (mean + half));
        }
    }

    @Test
    void bgeTiersAgainstMiniLm() {
        ModelProto parent = TestModels.load(TestModels.BGE_SMALL);
        Path bgeTokenizer = TestModels.file(TestModels.BGE_TOKENIZER);
        List<Encoder> encoders = new ArrayList<>();
        encoders.add(new Encoder("bge-small (exact)", "bge-small (exact)", parent, bgeTokenizer, Pooling.CLS));
        // The tiers published now (float32 and int8), then the float32-only ones of the same run (before int8).
        Map<Path, String> stores = new LinkedHashMap<>();
        stores.put(PrecisionBenchmark.STORE, "tiers now (int8, ziplm+int8)");
        stores.put(PrecisionBenchmark.FLOAT32_STORE, "ziplm, float32 (before)");
        for (Path storePath : stores.keySet()) {
            VariantStore store = VariantStore.filesystem(storePath);
            TierTable tiers = store.tiers("bge-small");
            for (Map.Entry<String, TierTable.Assignment> tier : tiers.tiers().entrySet()) {
                StoredVariant variant = store.variant("bge-small", tier.getValue().stable()).orElseThrow();
                encoders.add(new Encoder("bge " + tier.getKey() + " " + variant.manifest().method(),
                        stores.get(storePath), OnnxModelReader.read(store.verifiedModelFile(variant)), bgeTokenizer,
                        Pooling.CLS));
            }
        }
        RuntimeSettings runtime = RuntimeSettings.cpu(1, 1, SEQUENCE);
        List<TextSample> brown = BrownCorpus.bundled();
        // The other methods at 1.5x and 2x, float32 as they ship, built here through the one method interface on the
        // planner's calibration order (none of the genre test texts), timed on the planner's timing text.
        EncodedBatch timing = BenchmarkTexts.timing(bgeTokenizer, brown);
        MethodContext context = BenchmarkTexts.context(parent, runtime, bgeTokenizer, brown, timing);
        List<CompressionMethod<?>> methods = List.of(new TrimLlm(TrimLlmOptions.defaults()),
                new Bonsai(BonsaiOptions.defaults()), new LayerParallelSearch(ParallelOptions.defaults()));
        for (CompressionMethod<?> method : methods) {
            MethodResult result = method.compress(context, List.of(1.5, 2.0));
            for (CompressedVariant variant : result.variants()) {
                encoders.add(new Encoder("bge " + TierNames.format(variant.targetSpeedup()) + " " + variant.method(),
                        variant.method(), variant.model(), bgeTokenizer, Pooling.CLS));
            }
            result.unreached().forEach(u -> System.out.printf(Locale.ROOT, "%s %s: not reached (best %.2fx): %s%n",
                    u.method(), TierNames.format(u.targetSpeedup()), u.bestMeasuredSpeedup(), u.reason()));
        }
        Encoder miniLm = new Encoder("all-MiniLM-L6-v2", "all-MiniLM-L6-v2", TestModels.load(TestModels.MINILM),
                TestModels.file(TestModels.MINILM_TOKENIZER), Pooling.MEAN);
        encoders.add(miniLm);

        LatencyReport speed = speed(runtime, encoders, brown.get(0).text(), bgeTokenizer);
        System.out.print(speed.render());

        DataSplits genres = DataSplits.of(brown, SEED, TRAIN, 0, TEST);
        List<String[]> passages = passages(brown);
        Map<String, Outcomes[]> results = new LinkedHashMap<>();
        RidgeClassifier parentClassifier = null;
        for (Encoder encoder : encoders) {
            long start = System.nanoTime();
            float[][] train = embed(encoder, genres.calibration().stream().map(TextSample::text).toList());
            float[][] test = embed(encoder, genres.test().stream().map(TextSample::text).toList());
            List<String> trainLabels = genres.calibration().stream().map(TextSample::label).toList();
            List<String> testLabels = genres.test().stream().map(TextSample::label).toList();
            RidgeClassifier own = RidgeClassifier.fit(train, trainLabels, 1.0);
            if (parentClassifier == null) {
                parentClassifier = own;
            }
            Outcomes retrained = classified(own, test, testLabels);
            Outcomes dropIn = encoder == miniLm ? null : classified(parentClassifier, test, testLabels);
            float[][] queries = embed(encoder, passages.stream().map(p -> p[0]).toList());
            float[][] targets = embed(encoder, passages.stream().map(p -> p[1]).toList());
            Outcomes[] recall = recall(queries, targets, 1, 10);
            results.put(encoder.name(), new Outcomes[] {retrained, dropIn, recall[0], recall[1]});
            System.out.printf(Locale.ROOT, "%s embedded in %.0f s%n", encoder.name(), (System.nanoTime() - start) / 1e9);
        }

        System.out.printf(Locale.ROOT, "%nBrown genres: %d classes, %d training / %d test texts; retrieval: %d passages "
                        + "of %d sentences cut in halves; 95%% intervals; sequence %d; speed: CPU, 1 thread, batch 1 x %d%n",
                genres.test().stream().map(TextSample::label).distinct().count(), TRAIN, TEST, passages.size(),
                SENTENCES, SEQUENCE, SEQUENCE);
        System.out.printf(Locale.ROOT, "%-32s %7s  %-21s %-21s %-21s %-21s%n", "model", "speedup", "genre (retrained)",
                "genre (drop-in)", "recall@1", "recall@10");
        for (Encoder encoder : encoders) {
            Outcomes[] r = results.get(encoder.name());
            System.out.printf(Locale.ROOT, "%-32s %6.2fx  %-21s %-21s %-21s %-21s%n", encoder.name(),
                    speed.entry(encoder.name()).speedup(), r[0].wilson(), r[1] == null ? "n/a (other space)"
                            : r[1].wilson(), r[2].wilson(), r[3].wilson());
        }
        System.out.printf(Locale.ROOT, "%nminus all-MiniLM-L6-v2 (paired, points):%n");
        Outcomes[] base = results.get(miniLm.name());
        for (Encoder encoder : encoders) {
            if (encoder == miniLm) {
                continue;
            }
            Outcomes[] r = results.get(encoder.name());
            System.out.printf(Locale.ROOT, "%-32s %7s  %-21s %-21s %-21s %-21s%n", encoder.name(), "",
                    r[0].minus(base[0]), "", r[2].minus(base[2]), r[3].minus(base[3]));
        }
        Map<String, List<double[]>> genre = new LinkedHashMap<>();
        Map<String, List<double[]>> retrieval = new LinkedHashMap<>();
        for (Encoder encoder : encoders) {
            double speedup = speed.entry(encoder.name()).speedup();
            genre.computeIfAbsent(encoder.family(), f -> new ArrayList<>())
                    .add(new double[] {speedup, 100 * results.get(encoder.name())[0].mean()});
            retrieval.computeIfAbsent(encoder.family(), f -> new ArrayList<>())
                    .add(new double[] {speedup, 100 * results.get(encoder.name())[2].mean()});
        }
        // compressor/docs (the benchmark runs in the compressor module's directory), where compressor/README.md shows
        // the charts.
        Path out = Path.of("docs");
        String x = "measured speedup over bge-small (CPU, 1 thread, 1 x " + SEQUENCE + ")";
        QualitySpeedupChart.writeSeries("Brown genres, classifier retrained on each model (" + TEST + " test texts)", x,
                "accuracy (%)", genre, out.resolve("downstream-genre.png"));
        QualitySpeedupChart.writeSeries("retrieval of each passage's second half (" + PASSAGES + " passages)", x,
                "recall@1 (%)", retrieval, out.resolve("downstream-retrieval.png"));
        System.out.println("charts: " + out.resolve("downstream-genre.png") + ", "
                + out.resolve("downstream-retrieval.png"));

        String jsonl = System.getProperty("downstream.jsonl");
        if (jsonl != null && !jsonl.isBlank()) {
            labelled(encoders, miniLm, TextFiles.read(Path.of(jsonl)), jsonl);
        }
    }

    /** Classification on a user's labelled JSONL: 60% train, 40% test, seeded. */
    private void labelled(List<Encoder> encoders, Encoder miniLm, List<TextSample> samples, String name) {
        List<TextSample> shuffled = new ArrayList<>(samples);
        Collections.shuffle(shuffled, new Random(SEED));
        int train = shuffled.size() * 3 / 5;
        List<TextSample> trainSet = shuffled.subList(0, train);
        List<TextSample> testSet = shuffled.subList(train, shuffled.size());
        System.out.printf(Locale.ROOT, "%n%s: %d training / %d test texts%n", name, trainSet.size(), testSet.size());
        RidgeClassifier parentClassifier = null;
        Outcomes base = null;
        List<String[]> rows = new ArrayList<>();
        List<Outcomes> all = new ArrayList<>();
        for (Encoder encoder : encoders) {
            RidgeClassifier own = RidgeClassifier.fit(embed(encoder, trainSet.stream().map(TextSample::text).toList()),
                    trainSet.stream().map(TextSample::label).toList(), 1.0);
            float[][] test = embed(encoder, testSet.stream().map(TextSample::text).toList());
            List<String> labels = testSet.stream().map(TextSample::label).toList();
            parentClassifier = parentClassifier == null ? own : parentClassifier;
            Outcomes retrained = classified(own, test, labels);
            all.add(retrained);
            if (encoder == miniLm) {
                base = retrained;
            }
            rows.add(new String[] {encoder.name(), retrained.wilson(),
                    encoder == miniLm ? "n/a" : classified(parentClassifier, test, labels).wilson()});
        }
        for (int i = 0; i < rows.size(); i++) {
            System.out.printf(Locale.ROOT, "%-32s retrained %s  drop-in %s  minus MiniLM %s%n", rows.get(i)[0],
                    rows.get(i)[1], rows.get(i)[2], all.get(i).minus(base));
        }
    }

    private static LatencyReport speed(RuntimeSettings runtime, List<Encoder> encoders, String text, Path tokenizer) {
        EncodedBatch batch;
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, SEQUENCE)) {
            batch = encoder.encode(List.of(text));
        }
        // Both tokenizers are BERT's uncased WordPiece vocabulary, so one batch of ids feeds every model.
        return LatencyMeter.builder(runtime).warmupRuns(5).rounds(30).build().measure(encoders.stream()
                .map(e -> new LatencyMeter.Candidate(e.name(), e.model())).toList(), batch);
    }

    private static float[][] embed(Encoder encoder, List<String> texts) {
        List<EncodedBatch> batches;
        try (BatchTokenizer tokenizer = new BatchTokenizer(encoder.tokenizer(), SEQUENCE)) {
            batches = tokenizer.encodeAll(texts.stream().map(t -> new TextSample(t, null)).toList(), 16);
        }
        EmbeddingCollector collector = new EmbeddingCollector(encoder.model().getGraph().getOutput(0).getName(),
                encoder.pooling(), true);
        new CalibrationRunner(RuntimeSettings.Provider.CPU, Runtime.getRuntime().availableProcessors())
                .run(encoder.model(), Map.of(), batches, List.of(collector));
        return collector.embeddings();
    }

    private static Outcomes classified(RidgeClassifier classifier, float[][] test, List<String> labels) {
        double[] hits = new double[test.length];
        for (int i = 0; i < test.length; i++) {
            hits[i] = classifier.predict(test[i]).equals(labels.get(i)) ? 1 : 0;
        }
        return new Outcomes(hits);
    }

    /** Whether each query's own target ranks within the first k by cosine (embeddings are unit length). */
    private static Outcomes[] recall(float[][] queries, float[][] targets, int... ks) {
        double[][] hits = new double[ks.length][queries.length];
        for (int q = 0; q < queries.length; q++) {
            double own = dot(queries[q], targets[q]);
            int better = 0;
            for (int t = 0; t < targets.length; t++) {
                if (t != q && dot(queries[q], targets[t]) >= own) {
                    better++;
                }
            }
            for (int k = 0; k < ks.length; k++) {
                hits[k][q] = better < ks[k] ? 1 : 0;
            }
        }
        Outcomes[] outcomes = new Outcomes[ks.length];
        for (int k = 0; k < ks.length; k++) {
            outcomes[k] = new Outcomes(hits[k]);
        }
        return outcomes;
    }

    private static double dot(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /**
     * Passages of {@value #SENTENCES} consecutive sentences of one genre in corpus order, a seeded choice of
     * {@value #PASSAGES}, each cut at its middle word into a query half and a target half.
     */
    private static List<String[]> passages(List<TextSample> brown) {
        List<String[]> all = new ArrayList<>();
        for (int i = 0; i + SENTENCES <= brown.size(); i += SENTENCES) {
            List<TextSample> group = brown.subList(i, i + SENTENCES);
            if (group.stream().map(TextSample::label).distinct().count() != 1) {
                continue;
            }
            String[] words = String.join(" ", group.stream().map(TextSample::text).toList()).split("\\s+");
            if (words.length < 20) {
                continue;
            }
            int middle = words.length / 2;
            all.add(new String[] {String.join(" ", List.of(words).subList(0, middle)),
                    String.join(" ", List.of(words).subList(middle, words.length))});
        }
        Collections.shuffle(all, new Random(SEED));
        return all.subList(0, Math.min(PASSAGES, all.size()));
    }
}
