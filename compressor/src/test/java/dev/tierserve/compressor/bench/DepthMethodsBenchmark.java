package dev.tierserve.compressor.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextFiles;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.Unreached;
import dev.tierserve.compressor.method.parallel.LayerParallelSearch;
import dev.tierserve.compressor.method.parallel.ParallelOptions;
import dev.tierserve.compressor.method.parallel.ParallelResult;
import dev.tierserve.compressor.method.trimllm.TrimLlm;
import dev.tierserve.compressor.method.trimllm.TrimLlmOptions;
import dev.tierserve.compressor.method.trimllm.TrimLlmResult;
import dev.tierserve.compressor.method.ziplm.ZipLm;
import dev.tierserve.compressor.method.ziplm.ZipLmOptions;
import dev.tierserve.compressor.report.QualitySpeedupChart;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The depth methods (TrimLLM, layer parallelism) on BGE-small and all-MiniLM-L6 at 1.5x and 2x, CPU, batch 1 x
 * seq 128, built and measured at 1 and at 2 intra-op threads, beside ZipLM's variants (built at 1 thread) and the
 * drop-last-layers baseline; TrimLLM's domain effect on Brown fiction versus non-fiction, and on a labelled domain
 * against general calibration ({@link #labelledDomain}). Run:
 * {@code mvn -B -DskipTests install && mvn -B -pl compressor -Pbenchmark test -Dtest=DepthMethodsBenchmark}
 * (or {@code -Dtest=DepthMethodsBenchmark#miniLm}); writes {@code compressor/target/benchmarks/depth-*.{json,png}}.
 */
@Tag("benchmark")
class DepthMethodsBenchmark {

    private static final List<Double> TARGETS = List.of(1.5, 2.0);
    private static final Set<String> FICTION = Set.of("adventure", "fiction", "mystery", "romance", "science_fiction",
            "humor");

    @Test
    void bgeSmall() throws Exception {
        compare("bge-small-en-v1.5", TestModels.BGE_SMALL, TestModels.BGE_TOKENIZER, Pooling.CLS);
    }

    @Test
    void miniLm() throws Exception {
        compare("all-minilm-l6-v2", TestModels.MINILM, TestModels.MINILM_TOKENIZER, Pooling.MEAN);
    }

    /** TrimLLM at 1.5x calibrated on one genre group, evaluated on each group (BGE-small, 1 thread). */
    @Test
    void domainEffect() throws Exception {
        ModelProto parent = TestModels.load(TestModels.BGE_SMALL);
        Path tokenizer = TestModels.file(TestModels.BGE_TOKENIZER);
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 128);
        List<TextSample> brown = BrownCorpus.bundled();
        List<Group> groups = List.of(
                new Group("fiction", brown.stream().filter(s -> FICTION.contains(s.label())).toList()),
                new Group("non-fiction", brown.stream().filter(s -> !FICTION.contains(s.label())).toList()));
        TrimLlmOptions options = TrimLlmOptions.defaults().withRecovery(false).withRefitRidge(0);
        EncodedBatch timing = BenchmarkTexts.timing(tokenizer, brown);
        List<Evaluation.Model> variants = new ArrayList<>();
        for (Group group : groups) {
            TrimLlmResult result = new TrimLlm(options).compress(
                    BenchmarkTexts.context(parent, settings, tokenizer, group.samples(), timing), List.of(1.5));
            CompressedVariant variant = result.variants().get(0);
            System.out.printf(Locale.ROOT, "TrimLLM 1.5x calibrated on %s: %s%n", group.name(), variant.structure());
            variants.add(new Evaluation.Model("TrimLLM 1.5x, " + group.name() + " calibration", variant.model()));
        }
        Path out = Files.createDirectories(Path.of("target/benchmarks"));
        for (Group group : groups) {
            EvaluationReport report = Evaluation.builder(settings).rounds(20).evaluationSequence(128).trainTexts(1000)
                    .testTexts(300).pooling(Pooling.CLS).normalize(true)
                    .build().evaluate(new Evaluation.Model("bge-small-en-v1.5",
                            parent), variants, tokenizer, group.samples(), "brown " + group.name());
            System.out.printf(Locale.ROOT, "%nevaluated on %s:%n%s", group.name(), report.render());
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(
                    out.resolve("depth-domain-" + group.name() + ".json").toFile(), report);
        }
    }

    /**
     * TrimLLM at 1.5x calibrated on a labelled domain against TrimLLM calibrated on the general corpus, both evaluated
     * on the domain's held-out texts with the domain's own labels (BGE-small, 1 thread, TrimLLM's defaults as shipped).
     * The domain is a user's labelled JSONL ({@code -Ddomain.jsonl=FILE}, read as {@code compress --calibration} reads
     * it); without one, Brown's fiction genres written out as such a file. The general corpus is Brown without the
     * domain's test texts. Run: {@code mvn -B -pl compressor -Pbenchmark test -Dtest=DepthMethodsBenchmark#labelledDomain}.
     */
    @Test
    void labelledDomain() throws Exception {
        ModelProto parent = TestModels.load(TestModels.BGE_SMALL);
        Path tokenizer = TestModels.file(TestModels.BGE_TOKENIZER);
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 128);
        List<TextSample> brown = BrownCorpus.bundled();
        Path out = Files.createDirectories(Path.of("target/benchmarks"));
        String property = System.getProperty("domain.jsonl");
        Path file = property != null ? Path.of(property) : writeJsonl(brown.stream()
                .filter(s -> FICTION.contains(s.label())).toList(), out.resolve("domain-brown-fiction.jsonl"));
        List<TextSample> domain = TextFiles.read(file);
        Set<String> domainTest = DataSplits.of(domain, 42, Evaluation.DEFAULT_TRAIN_TEXTS, 0, BenchmarkTexts.TEST_TEXTS)
                .test().stream().map(TextSample::text).collect(Collectors.toSet());
        List<TextSample> general = brown.stream().filter(s -> !domainTest.contains(s.text())).toList();
        System.out.printf(Locale.ROOT, "domain %s: %d texts, %d labels; general corpus: %d texts%n", file,
                domain.size(), domain.stream().map(TextSample::label).distinct().count(), general.size());

        EncodedBatch timing = BenchmarkTexts.timing(tokenizer, brown);
        List<Evaluation.Model> variants = new ArrayList<>();
        for (Group calibration : List.of(new Group("domain", domain), new Group("general", general))) {
            TrimLlmResult result = new TrimLlm(TrimLlmOptions.defaults()).compress(
                    BenchmarkTexts.context(parent, settings, tokenizer, calibration.samples(), timing), List.of(1.5));
            for (CompressedVariant variant : result.variants()) {
                System.out.printf(Locale.ROOT, "%s 1.5x calibrated on the %s texts: %.2fx, %s%n", variant.method(),
                        calibration.name(), variant.measuredSpeedup(), variant.structure());
                variants.add(new Evaluation.Model(variant.method() + " 1.5x, " + calibration.name() + " calibration",
                        variant.model()));
            }
        }
        EvaluationReport report = Evaluation.builder(settings).rounds(20).evaluationSequence(128)
                .trainTexts(Evaluation.DEFAULT_TRAIN_TEXTS).testTexts(BenchmarkTexts.TEST_TEXTS).pooling(Pooling.CLS)
                .normalize(true).build().evaluate(new Evaluation.Model("bge-small-en-v1.5", parent), variants,
                        tokenizer, domain, file.getFileName().toString());
        System.out.printf(Locale.ROOT, "%nevaluated on the domain (%s):%n%s", file.getFileName(), report.render());
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("depth-labelled-domain.json")
                .toFile(), report);
    }

    /** Samples as a JSONL file of {@code text} and {@code label} fields, the format {@code --calibration} reads. */
    private static Path writeJsonl(List<TextSample> samples, Path file) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (TextSample sample : samples) {
            lines.add(json.writeValueAsString(Map.of("text", sample.text(), "label", sample.label())));
        }
        return Files.write(file, lines);
    }

    /** A slice of the Brown corpus by genre. */
    private record Group(String name, List<TextSample> samples) {
    }

    private void compare(String name, String modelResource, String tokenizerResource, Pooling pooling)
            throws Exception {
        long start = System.nanoTime();
        ModelProto parent = TestModels.load(modelResource);
        Path tokenizer = TestModels.file(tokenizerResource);
        int layers = StructureDetector.detect(parent).layerCount();
        List<TextSample> brown = BrownCorpus.bundled();
        EncodedBatch timing = BenchmarkTexts.timing(tokenizer, brown);

        // ZipLM once, at one thread, as the width-pruning reference for both tables.
        RuntimeSettings single = RuntimeSettings.cpu(1, 1, 128);
        ZipLmOptions zipOptions = ZipLmOptions.defaults();
        long zipStart = System.nanoTime();
        List<Evaluation.Model> reference = new ArrayList<>();
        new ZipLm(zipOptions).compress(BenchmarkTexts.context(parent, single, tokenizer, brown, timing), TARGETS)
                .results()
                .forEach(r -> reference.add(new Evaluation.Model("ZipLM " + r.targetSpeedup() + "x (built t1)",
                        r.model())));
        System.out.printf(Locale.ROOT, "%s: ZipLM 1.5x and 2x in %.1f s%n", name, (System.nanoTime() - zipStart) / 1e9);
        for (double target : TARGETS) {
            int drop = (int) Math.ceil(layers * (1 - 1 / target));
            reference.add(new Evaluation.Model("drop last " + drop + " layers (" + target + "x)",
                    SubBlockRemoval.dropLastLayers(parent, drop)));
        }

        TrimLlmOptions trimOptions = TrimLlmOptions.defaults();
        ParallelOptions parallelOptions = ParallelOptions.defaults();
        Path out = Files.createDirectories(Path.of("target/benchmarks"));
        for (int threads : new int[] {1, 2}) {
            RuntimeSettings settings = RuntimeSettings.cpu(threads, 1, 128);
            List<Evaluation.Model> models = new ArrayList<>();
            List<Unreached> unreached = new ArrayList<>();

            long trimStart = System.nanoTime();
            MethodContext context = BenchmarkTexts.context(parent, settings, tokenizer, brown, timing);
            TrimLlmResult trim = new TrimLlm(trimOptions).compress(context, TARGETS);
            double trimSeconds = (System.nanoTime() - trimStart) / 1e9;
            trim.variants().forEach(v -> models.add(new Evaluation.Model(v.method() + " " + v.targetSpeedup() + "x",
                    v.model())));
            unreached.addAll(trim.unreached());

            long parallelStart = System.nanoTime();
            ParallelResult parallel = new LayerParallelSearch(parallelOptions).compress(context, TARGETS);
            double parallelSeconds = (System.nanoTime() - parallelStart) / 1e9;
            parallel.variants().forEach(v -> models.add(new Evaluation.Model(v.method() + " " + v.targetSpeedup() + "x",
                    v.model())));
            unreached.addAll(parallel.unreached());
            models.addAll(reference);

            EvaluationReport report = Evaluation.builder(settings).rounds(20).evaluationSequence(128).trainTexts(1000)
                    .testTexts(300).pooling(pooling).normalize(true)
                    .build().evaluate(new Evaluation.Model(name, parent), models,
                            tokenizer, brown, "brown");
            System.out.printf(Locale.ROOT, "%n%s, %d thread(s): TrimLLM %.1f s, layer-parallel search %.1f s%n", name,
                    threads, trimSeconds, parallelSeconds);
            for (ParallelResult.Width width : parallel.widths()) {
                System.out.printf(Locale.ROOT, "  parallel %s: loss %.4f, plain %.3fx, fused %.3fx%n",
                        width.best().label(), width.best().calibrationLoss(), width.plainSpeedup(), width.fusedSpeedup());
            }
            for (Unreached miss : unreached) {
                System.out.printf(Locale.ROOT, "  unreached: %s %.1fx (best %.3fx): %s%n", miss.method(),
                        miss.targetSpeedup(), miss.bestMeasuredSpeedup(), miss.reason());
            }
            System.out.print(report.render());
            String file = "depth-" + name + "-t" + threads;
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve(file + ".json").toFile(), report);
            QualitySpeedupChart.write(report, out.resolve(file + ".png"));
        }
        System.out.printf(Locale.ROOT, "%s: whole comparison in %.1f min%n", name, (System.nanoTime() - start) / 60e9);
    }
}
