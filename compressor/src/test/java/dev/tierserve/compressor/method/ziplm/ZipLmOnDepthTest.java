package dev.tierserve.compressor.method.ziplm;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.data.Batches;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.edit.ChannelAffine;
import dev.tierserve.compressor.graph.edit.SubBlock;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import dev.tierserve.compressor.method.DepthFixtures;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ZipLM on top of a depth edit of all-MiniLM-L6 (layer 1 removed whole and layer 3's MLP replaced by a channel
 * affine map, as TrimLLM's recovery leaves it): the removed sub-blocks stay removed, the rest gets narrower, the
 * per-layer structure it reports is indexed by the parent's layers, the speedup
 * is measured against the parent, and the loss the search scored through masks is the physical variant's.
 */
class ZipLmOnDepthTest {

    @Test
    void prunesTheRemainingSubBlocksAndScoresAgainstTheParent() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        StructureMap parentMap = StructureDetector.detect(parent);
        Set<SubBlock> dropped = Set.of(SubBlock.attention(1), SubBlock.mlp(1), SubBlock.mlp(3));
        SubBlockRemoval.Span corrected = SubBlockRemoval.spans(parentMap, Set.of(SubBlock.mlp(3))).get(0);
        float[] scale = new float[parentMap.hiddenSize()];
        Arrays.fill(scale, 0.95f);
        float[] shift = new float[parentMap.hiddenSize()];
        Arrays.fill(shift, 0.01f);
        ModelProto start = SubBlockRemoval.drop(parent, parentMap, dropped,
                Map.of(corrected.target(), new ChannelAffine(scale, shift)));

        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 64);
        EncodedBatch timing = DepthFixtures.miniLmTiming(64);
        List<EncodedBatch> calibration = DepthFixtures.miniLmCalibration(64, 48);
        ZipLmOptions options = ZipLmOptions.defaults().withCalibration(64, 48, 32).withSearch(2, 3);
        MethodContext context = MethodContext.builder(parent, settings).calibration(calibration).timing(timing)
                .log(System.out::println).build();

        ZipLmRun run = new ZipLm(options).compress(context, start, List.of(1.6));

        assertEquals(List.of(), run.unreached());
        ZipLmResult result = run.results().get(0);
        assertTrue(result.measuredSpeedup() >= 1.6, "measured " + result.measuredSpeedup() + " against the parent");
        StructureMap map = StructureDetector.detect(result.model());
        assertTrue(map.layers().stream().noneMatch(l -> l.origin() == 1), "layer 1 stays removed");
        map.layers().stream().filter(l -> l.origin() == 3)
                .forEach(l -> assertNull(l.mlp(), "a removed sub-block stays removed"));
        // Heads and channels are reported per layer of the parent: positions after the removed layer moved up.
        assertEquals(parentMap.layerCount(), result.heads().length);
        assertEquals(0, result.heads()[1]);
        assertEquals(0, result.channels()[1]);
        assertEquals(0, result.channels()[3]);
        long width = 0;
        for (TransformerLayer layer : map.layers()) {
            int heads = layer.attention() == null ? 0 : layer.attention().heads();
            int channels = layer.mlp() == null ? 0 : layer.mlp().intermediateSize();
            assertEquals(heads, result.heads()[layer.origin()], "heads of the parent's layer " + layer.origin());
            assertEquals(channels, result.channels()[layer.origin()], "channels of the parent's layer "
                    + layer.origin());
            width += heads + channels;
        }
        long parentWidth = 0;
        for (int l = 0; l < parentMap.layerCount(); l++) {
            TransformerLayer layer = parentMap.layer(l);
            parentWidth += l == 1 ? 0 : layer.attention().heads() + (l == 3 ? 0 : layer.mlp().intermediateSize());
        }
        assertTrue(width < parentWidth, "ZipLM pruned the start further: " + width + " of " + parentWidth);

        new LossAgainstParent(parent, Batches.firstTexts(calibration, options.scoringTexts()), settings)
                .assertSearchLossIsPhysicalAndRefitLowersIt(result);
    }
}
