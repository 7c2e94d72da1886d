package dev.tierserve.compressor.cli;

import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.plan.Candidate;
import dev.tierserve.compressor.plan.Method;
import dev.tierserve.compressor.plan.PlanRequest;
import dev.tierserve.compressor.plan.Precision;
import dev.tierserve.compressor.plan.TierDecision;
import dev.tierserve.compressor.plan.TierPlanner;
import dev.tierserve.store.TierNames;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "compress", description = "Compress a model to speedup tiers and publish, per tier, the most accurate "
        + "measured variant into the variant store.",
        footer = {"  java -jar compressor/target/tierserve-compressor.jar compress \\",
                "      --model models/bge-small-en-v1.5/model.onnx --targets 1.5,2,3 \\",
                "      --pooling cls --normalize --out variants"})
final class CompressCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--method", split = ",", defaultValue = "ziplm", description = "one or more of ziplm, trimllm, "
            + "trimllm+ziplm, bonsai, parallel (comma-separated), or all")
    List<String> methods;

    @Option(names = "--precision", split = ",", defaultValue = "float32,int8", converter = PrecisionConverter.class,
            description = "float32, int8 or both (comma-separated): the precisions each method's variants are tried at; "
                    + "int8 also tries the parent quantized alone, where it measures faster than the parent")
    List<Precision> precisions;

    @Option(names = "--model", required = true, description = "the parent model.onnx")
    Path model;

    @Option(names = "--tokenizer", description = "the parent's tokenizer.json (default: beside the model)")
    Path tokenizer;

    @Option(names = "--name", description = "the model's name in the store (default: its directory's name)")
    String name;

    @Option(names = "--targets", required = true, split = ",", description = "speedups, e.g. 1.5,2,3")
    List<Double> targets;

    @Option(names = "--calibration", defaultValue = "brown", description = "'brown' (bundled) or a .jsonl / text file: "
            + "the domain TrimLLM keeps")
    String calibration;

    @Option(names = "--calibration-texts", defaultValue = "0",
            description = "calibration texts; 0: the method's own number (ziplm 1500, trimllm 128, parallel 64, "
                    + "bonsai 64)")
    int calibrationTexts;

    @Option(names = "--test-texts", defaultValue = "300", description = "held-out texts for the manifest's quality")
    int testTexts;

    @Option(names = "--min-quality", defaultValue = "0", description = "publish nothing below this mean cosine")
    double minQuality;

    @Mixin
    RuntimeOptions runtime;

    @Option(names = "--no-recovery", description = "trimllm: skip the affine recovery")
    boolean noRecovery;

    @Option(names = "--pooling", defaultValue = "mean", description = "cls or mean: how the served model pools "
            + "token states into the embedding the encoder quality metrics compare")
    Pooling pooling;

    @Option(names = "--normalize", description = "the served embeddings are L2-normalised: so are the ones the "
            + "quality metrics (the genre classifier) see")
    boolean normalize;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    @Mixin
    StoreOptions store;

    /** Precisions by their label, so that a typo gets the list of labels. */
    static final class PrecisionConverter implements ITypeConverter<Precision> {
        @Override
        public Precision convert(String value) {
            try {
                return Precision.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    @Override
    public Integer call() {
        long start = System.nanoTime();
        InputFiles.file(spec, "--model", model);
        Path tokenizerJson = InputFiles.tokenizer(spec, tokenizer, model);
        InputFiles.data(spec, "--calibration", calibration);
        PlanRequest request;
        try {
            request = PlanRequest.builder(name != null ? name : model.toAbsolutePath().getParent().getFileName().toString(),
                            model)
                    .tokenizer(tokenizerJson).tiers(targets).methods(Method.parseAll(methods)).calibration(calibration)
                    .calibrationTexts(calibrationTexts).testTexts(testTexts).runtime(runtime.settings())
                    .minQuality(minQuality).seed(seed).pooling(pooling).normalize(normalize).recovery(!noRecovery)
                    .precisions(precisions)
                    .build();
        } catch (IllegalArgumentException e) { // an unknown method, a target of 1 or less
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        List<TierDecision> decisions = new TierPlanner(store.open(), System.out::println).plan(request);
        for (TierDecision decision : decisions) {
            System.out.printf(Locale.ROOT, "%s: %s%n", TierNames.format(decision.tier()),
                    decision.published() ? decision.variantId() + " (" + decision.reason() + ")"
                            : "not published: " + decision.reason());
            for (Candidate candidate : decision.candidates()) {
                System.out.printf(Locale.ROOT, "    %-16s built for %-5s measured %.2fx  cos %.4f  %s%n",
                        candidate.method(), TierNames.format(candidate.targetSpeedup()), candidate.measuredSpeedup(),
                        candidate.meanCosine(), candidate.chosen() ? "chosen" : candidate.rejectedBecause());
            }
        }
        System.out.printf(Locale.ROOT, "compression took %.1f s%n", (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
