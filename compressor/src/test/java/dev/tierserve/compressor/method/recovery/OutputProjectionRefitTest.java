package dev.tierserve.compressor.method.recovery;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.OutputRecorder;
import dev.tierserve.compressor.calib.RelativeError;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.edit.SubBlock;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import dev.tierserve.compressor.method.baseline.MagnitudePruning;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OutputProjectionRefitTest {

    private static final String OUTPUT = "last_hidden_state";
    private final ModelProto parent = TestModels.load(TestModels.MINILM);
    private final CalibrationRunner runner = new CalibrationRunner(RuntimeSettings.Provider.CPU, 2);
    private final List<EncodedBatch> calibration;
    private final List<EncodedBatch> heldOut;

    OutputProjectionRefitTest() {
        DataSplits splits = DataSplits.of(BrownCorpus.bundled(), 42, 64, 0, 32);
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), 48)) {
            calibration = tokenizer.encodeAll(splits.calibration(), 16);
            heldOut = tokenizer.encodeAll(splits.test(), 16);
        }
    }

    @Test
    void theParentIsAFixedPoint() {
        ModelProto refitted = new OutputProjectionRefit(runner, OutputProjectionRefit.DEFAULT_RIDGE, s -> { })
                .refit(parent, parent, calibration);
        StructureMap map = StructureDetector.detect(parent);
        for (TransformerLayer layer : map.layers()) {
            for (String weight : List.of(layer.attention().output().weight(), layer.attention().output().bias(),
                    layer.mlp().down().weight(), layer.mlp().down().bias())) {
                float[] before = initializer(parent, weight);
                float[] after = initializer(refitted, weight);
                double scale = 0;
                double worst = 0;
                for (int i = 0; i < before.length; i++) {
                    scale = Math.max(scale, Math.abs(before[i]));
                    worst = Math.max(worst, Math.abs(after[i] - before[i]));
                }
                assertTrue(worst < 1e-3 * scale, weight + " moved by " + worst + " (largest entry " + scale + ")");
            }
        }
    }

    @Test
    void refittingAPrunedModelBringsItsHeldOutOutputsCloserToTheParent() {
        int[] heads = {8, 12, 8, 6, 12, 8};
        int[] channels = {1024, 1536, 768, 1536, 1024, 768};
        ModelProto pruned = MagnitudePruning.prune(parent, heads, channels);
        ModelProto refitted = new OutputProjectionRefit(runner, OutputProjectionRefit.DEFAULT_RIDGE,
                System.out::println).refit(pruned, parent, calibration);

        StructureMap prunedMap = StructureDetector.detect(pruned);
        StructureMap refittedMap = StructureDetector.detect(refitted);
        for (int layer = 0; layer < 6; layer++) {
            assertEquals(prunedMap.layer(layer).attention().heads(), refittedMap.layer(layer).attention().heads());
            assertEquals(prunedMap.layer(layer).mlp().intermediateSize(),
                    refittedMap.layer(layer).mlp().intermediateSize());
        }
        double before = heldOutError(pruned);
        double after = heldOutError(refitted);
        System.out.printf("held-out relative error: pruned %.4f, refitted %.4f%n", before, after);
        assertTrue(after < 0.8 * before, "refitted " + after + " vs pruned " + before);
    }

    @Test
    void eachSubBlockIsFittedTowardsItsOwnLayerOfTheParent() {
        // Layer 1 gone entirely (the later layers move up), and layer 3 without its MLP before layer 4 without its
        // attention, which the graph alone would read as one layer.
        ModelProto pruned = MagnitudePruning.prune(parent, new int[] {8, 12, 8, 6, 12, 8},
                new int[] {1024, 1536, 768, 1536, 1024, 768});
        pruned = SubBlockRemoval.drop(pruned, StructureDetector.detect(pruned), Set.of(SubBlock.attention(1),
                SubBlock.mlp(1), SubBlock.mlp(3), SubBlock.attention(4)));
        assertEquals(List.of(0, 2, 3, 4, 5), StructureDetector.detect(pruned).layers().stream()
                .map(TransformerLayer::origin).toList());
        List<String> fitted = new ArrayList<>();
        ModelProto refitted = new OutputProjectionRefit(runner, OutputProjectionRefit.DEFAULT_RIDGE, fitted::add)
                .refit(pruned, parent, calibration);
        assertEquals(List.of("L0.attention", "L0.mlp", "L2.attention", "L2.mlp", "L3.attention", "L4.mlp",
                "L5.attention", "L5.mlp"), fitted.stream().filter(l -> l.startsWith("refit L"))
                .map(l -> l.substring("refit ".length(), l.indexOf(':'))).toList());
        double before = heldOutError(pruned);
        double after = heldOutError(refitted);
        System.out.printf("held-out relative error with removed sub-blocks: %.4f, refitted %.4f%n", before, after);
        assertTrue(after < 0.8 * before, "refitted " + after + " vs pruned " + before);
    }

    private double heldOutError(ModelProto model) {
        OutputRecorder reference = new OutputRecorder(OUTPUT);
        runner.run(parent, Map.of(), heldOut, List.of(reference));
        RelativeError error = new RelativeError(OUTPUT, reference);
        runner.run(model, Map.of(), heldOut, List.of(error));
        return error.value();
    }

    private static float[] initializer(ModelProto model, String name) {
        return TensorData.floats(new MutableGraph(model).initializer(name).orElseThrow());
    }
}
