package dev.tierserve.compressor.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.TextFiles;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.report.QualitySpeedupChart;
import dev.tierserve.store.RuntimeSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Visibility;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "evaluate", description = "Measure variants against their parent: quality on held-out text and "
        + "speedup on the serving runtime, in one run.",
        footer = {"  java -jar compressor/target/tierserve-compressor.jar evaluate \\",
                "      models/bge-small-en-v1.5/model.onnx variant-a.onnx variant-b.onnx \\",
                "      --pooling cls --normalize --seq 128 --json report.json --plot report.png"})
final class EvaluateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", description = "the parent model")
    Path parent;

    @Parameters(index = "1..*", arity = "0..*", description = "variant models", showDefaultValue = Visibility.NEVER)
    List<Path> variants = new ArrayList<>();

    @Option(names = "--tokenizer", description = "tokenizer.json (default: beside the parent)")
    Path tokenizer;

    @Option(names = "--data", defaultValue = "brown", description = "'brown' (bundled) or a .jsonl / text file")
    String data;

    @Option(names = "--train", defaultValue = "1000", description = "texts training the genre/label classifier")
    int train;

    @Option(names = "--test", defaultValue = "300", description = "held-out texts the metrics use")
    int test;

    @Option(names = "--eval-seq", defaultValue = "128", description = "sequence length for the quality metrics")
    int evaluationSequence;

    @Mixin
    RuntimeOptions runtime;

    @Option(names = "--rounds", defaultValue = "20", description = "interleaved latency rounds")
    int rounds;

    @Option(names = "--pooling", defaultValue = "mean", description = "cls or mean (encoders)")
    Pooling pooling;

    @Option(names = "--normalize", description = "L2-normalise the pooled embeddings (encoders), as the served "
            + "model does, before the genre classifier sees them")
    boolean normalize;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    @Option(names = "--json", defaultValue = "evaluation.json", description = "where to write the report")
    Path json;

    @Option(names = "--plot", description = "write a quality-versus-speedup chart (PNG) here")
    Path plot;

    @Override
    public Integer call() throws Exception {
        InputFiles.file(spec, "parent model", parent);
        variants.forEach(variant -> InputFiles.file(spec, "variant model", variant));
        Path tokenizerJson = InputFiles.tokenizer(spec, tokenizer, parent);
        InputFiles.data(spec, "--data", data);
        RuntimeSettings settings = runtime.settings();
        List<TextSample> samples = data.equals("brown") ? BrownCorpus.bundled() : TextFiles.read(Path.of(data));
        Evaluation evaluation = Evaluation.builder(settings).rounds(rounds).evaluationSequence(evaluationSequence)
                .trainTexts(train).testTexts(test).seed(seed).pooling(pooling).normalize(normalize).build();
        List<Evaluation.Model> models = new ArrayList<>();
        for (Path variant : variants) {
            models.add(new Evaluation.Model(variant.toString(), OnnxModelReader.read(variant)));
        }
        EvaluationReport report = evaluation.evaluate(new Evaluation.Model(parent.toString(),
                OnnxModelReader.read(parent)), models, tokenizerJson, samples, data);
        System.out.print(report.render());
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(json.toFile(), report);
        System.out.println("wrote " + json);
        if (plot != null) {
            QualitySpeedupChart.write(report, plot);
            System.out.println("wrote " + plot);
        }
        return 0;
    }
}
