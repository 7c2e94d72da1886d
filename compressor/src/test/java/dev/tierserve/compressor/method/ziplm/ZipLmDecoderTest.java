package dev.tierserve.compressor.method.ziplm;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.data.Batches;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.eval.DecoderComparison;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import dev.tierserve.compressor.method.DepthFixtures;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.synthetic.DecoderBuilder;
import dev.tierserve.compressor.synthetic.DecoderConfig;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ZipLM on the synthetic pre-norm decoders (random weights: this tests the machinery, not quality): the variant
 * reaches its speedup, the Llama-style decoder loses whole KV groups (its query heads stay a multiple of its KV
 * heads), the pruned graph runs with its KV cache, the loss the search scored through masks is the physical
 * variant's, and the output-projection refit lowers it.
 */
class ZipLmDecoderTest {

    @ParameterizedTest
    @EnumSource(DecoderConfig.Family.class)
    void prunesADecoderToItsTarget(DecoderConfig.Family family) {
        // Twice the default width, so that a forward pass takes milliseconds and timing noise does not decide.
        DecoderConfig config = family == DecoderConfig.Family.GPT2 ? DecoderConfig.gpt2().withWidth(256, 8, 8, 1024)
                : DecoderConfig.llama().withWidth(256, 8, 4, 688);
        ModelProto parent = DecoderBuilder.build(config);
        StructureMap parentMap = StructureDetector.detect(parent);
        int vocabulary = parentMap.lmHead().outFeatures();
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 128);
        EncodedBatch timing = DecoderComparison.foldIntoVocabulary(DepthFixtures.miniLmTiming(128), vocabulary);
        List<EncodedBatch> calibration = DepthFixtures.miniLmCalibration(64, 48).stream()
                .map(b -> DecoderComparison.foldIntoVocabulary(b, vocabulary)).toList();
        ZipLmOptions options = ZipLmOptions.defaults().withCalibration(64, 48, 32).withSearch(2, 3);
        MethodContext context = MethodContext.builder(parent, settings).calibration(calibration).timing(timing)
                .log(System.out::println).build();

        ZipLmRun run = new ZipLm(options).compress(context, List.of(1.5));

        assertEquals(List.of(), run.unreached());
        ZipLmResult result = run.results().get(0);
        assertTrue(result.measuredSpeedup() >= 1.5, "measured " + result.measuredSpeedup());
        StructureMap map = StructureDetector.detect(result.model());
        long width = 0;
        for (TransformerLayer layer : map.layers()) {
            AttentionBlock attention = layer.attention();
            if (attention != null) {
                assertEquals(config.heads() / config.kvHeads(), attention.groupSize(),
                        "layer " + layer.origin() + ": query heads per KV head");
                assertEquals(attention.heads(), attention.kvHeads() * attention.groupSize());
                assertEquals(attention.heads(), result.heads()[layer.origin()]);
                assertTrue(attention.hasCache(), "layer " + layer.origin() + " keeps its KV cache");
                width += attention.heads();
            }
            width += layer.mlp() == null ? 0 : layer.mlp().intermediateSize();
        }
        assertTrue(width < (long) config.layers() * (config.heads() + config.ffn()), "pruned: " + width);

        // Pre-norm: each sub-block's output is added to the stream with no norm after it, so the refit lowers it too.
        new LossAgainstParent(parent, Batches.firstTexts(calibration, options.scoringTexts()), settings)
                .assertSearchLossIsPhysicalAndRefitLowersIt(result);
    }
}
