package dev.tierserve.compressor.method.parallel;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.OrtRunner;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.graph.edit.LayerParallelism;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.DepthFixtures;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.Unreached;
import dev.tierserve.compressor.method.parallel.ParallelResult.Width;
import dev.tierserve.compressor.method.parallel.ParallelResult.Window;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerParallelSearchTest {

    private final ModelProto parent = TestModels.load(TestModels.MINILM);

    @Test
    void scoresEveryWindowAndNeverPublishesAVariantBelowItsTarget() {
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 64);
        List<Double> targets = List.of(1.02, 3.0);
        MethodContext context = MethodContext.builder(parent, settings)
                .calibration(DepthFixtures.miniLmCalibration(32, 32)).timing(DepthFixtures.miniLmTiming(64))
                .latencyRuns(3, 9).log(System.out::println).build();
        ParallelResult result = new LayerParallelSearch(new ParallelOptions(32, 32)).compress(context, targets);

        // Six layers: 5 one-pair windows, 3 two-pair windows, 1 three-pair window, each with a real loss.
        assertEquals(9, result.windows().size());
        assertEquals(5, result.windows().stream().filter(w -> w.pairs() == 1).count());
        assertTrue(result.windows().stream().allMatch(w -> w.calibrationLoss() > 0));
        for (Width width : result.widths()) {
            double min = result.windows().stream().filter(w -> w.pairs() == width.best().pairs())
                    .mapToDouble(Window::calibrationLoss).min().orElseThrow();
            assertEquals(min, width.best().calibrationLoss(), "each width is timed on its best window");
        }
        // Fused and plain pairs do the same arithmetic: 3x is out of reach and recorded, not published.
        Unreached three = result.unreached().stream().filter(u -> u.targetSpeedup() == 3.0).findFirst().orElseThrow();
        assertTrue(three.bestMeasuredSpeedup() < 3.0);
        assertEquals(3, result.widths().size(), "every width was tried before giving up");
        for (double target : targets) {
            boolean published = result.variants().stream().anyMatch(v -> v.targetSpeedup() == target);
            boolean recorded = result.unreached().stream().anyMatch(u -> u.targetSpeedup() == target);
            assertTrue(published ^ recorded, "each target is either published or recorded unreached: " + target);
        }
        for (CompressedVariant variant : result.variants()) {
            assertTrue(variant.measuredSpeedup() >= variant.targetSpeedup());
        }
    }

    @Test
    void theChosenWindowsFusedAndPlainFormsAgree() {
        StructureMap map = StructureDetector.detect(parent);
        Map<String, Object> inputs = OrtRunner.encoderInputs(2, 16, 4, 9);
        float[] plain = OrtRunner.run(LayerParallelism.parallelise(parent, map, 2, 2, false), inputs)
                .get("last_hidden_state");
        float[] fused = OrtRunner.run(LayerParallelism.parallelise(parent, map, 2, 2, true), inputs)
                .get("last_hidden_state");
        assertTrue(OrtRunner.maxAbsDiff(plain, fused) < 1e-4);
        assertEquals(4, StructureDetector.detect(LayerParallelism.parallelise(parent, map, 2, 2, true)).layerCount(),
                "two fused pairs: six layers become four");
    }
}
