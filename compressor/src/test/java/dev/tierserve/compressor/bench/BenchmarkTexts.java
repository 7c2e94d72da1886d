package dev.tierserve.compressor.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.store.RuntimeSettings;

import java.nio.file.Path;
import java.util.List;

/**
 * Calibration texts for the benchmarks (seed 42): none of them among the {@value #TEST_TEXTS} texts that follow the
 * evaluation's {@link Evaluation#DEFAULT_TRAIN_TEXTS} classifier texts, the ones every benchmark tests on.
 */
final class BenchmarkTexts {

    static final int TEST_TEXTS = 300;
    private static final long SEED = 42;

    private BenchmarkTexts() {
    }

    static List<TextSample> calibration(List<TextSample> samples, int texts) {
        return DataSplits.outsideTest(samples, SEED, Evaluation.DEFAULT_TRAIN_TEXTS, TEST_TEXTS, texts);
    }

    /**
     * A method context over {@code parent} whose calibration texts are {@link #encoded} from {@code samples}, timed on
     * {@code timing} with the default latency runs.
     */
    static MethodContext context(ModelProto parent, RuntimeSettings settings, Path tokenizer, List<TextSample> samples,
                                 EncodedBatch timing) {
        return MethodContext.builder(parent, settings)
                .calibration((texts, sequence) -> encoded(tokenizer, samples, texts, sequence)).timing(timing)
                .log(System.out::println).build();
    }

    /** The text every benchmark times models on: the first of the seeded order, at 128 tokens, batch 1. */
    static EncodedBatch timing(Path tokenizer, List<TextSample> samples) {
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, 128)) {
            return encoder.encode(List.of(DataSplits.of(samples, SEED, 1, 0, 0).calibration().get(0).text()));
        }
    }

    /** {@link #calibration} tokenised to {@code sequence} tokens, in batches of 16. */
    static List<EncodedBatch> encoded(Path tokenizer, List<TextSample> samples, int texts, int sequence) {
        try (BatchTokenizer encoder = new BatchTokenizer(tokenizer, sequence)) {
            return encoder.encodeAll(calibration(samples, texts), 16);
        }
    }
}
