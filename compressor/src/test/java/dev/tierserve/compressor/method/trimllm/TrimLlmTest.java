package dev.tierserve.compressor.method.trimllm;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.OutputRecorder;
import dev.tierserve.compressor.calib.RelativeError;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.edit.SubBlock;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.graph.search.SearchGraphBuilder;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.DepthFixtures;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrimLlmTest {

    private static final String OUTPUT = "last_hidden_state";
    private final ModelProto parent = TestModels.load(TestModels.MINILM);
    private final StructureMap map = StructureDetector.detect(parent);

    @Test
    void gatedOffSubBlocksScoreExactlyAsThePhysicallyDroppedVariant() {
        List<EncodedBatch> scoring = DepthFixtures.miniLmCalibration(32, 32);
        CalibrationRunner runner = new CalibrationRunner(RuntimeSettings.Provider.CPU, 2);
        OutputRecorder reference = new OutputRecorder(OUTPUT);
        runner.run(parent, Map.of(), scoring, List.of(reference));
        Set<SubBlock> off = new TreeSet<>(List.of(SubBlock.attention(1), SubBlock.mlp(1), SubBlock.mlp(4)));

        SearchGraph search = SearchGraphBuilder.of(parent, map).subBlockGates().build();
        RelativeError gated = new RelativeError(OUTPUT, reference);
        runner.run(search.model(), TrimLlm.gatesOff(search, off), scoring, List.of(gated));
        RelativeError physical = new RelativeError(OUTPUT, reference);
        ModelProto dropped = SubBlockRemoval.drop(parent, map, off);
        runner.run(dropped, Map.of(), scoring, List.of(physical));

        assertTrue(physical.value() > 1e-3, "dropping three blocks changes the output: " + physical.value());
        assertEquals(physical.value(), gated.value(), 1e-5 * physical.value());
        StructureMap remapped = StructureDetector.detect(dropped);
        assertEquals(5, remapped.layerCount(), "layer 1 lost both blocks");
        assertEquals(null, remapped.layer(3).mlp(), "old layer 4 is now layer 3, without its MLP");
    }

    @Test
    void theProgressiveLoopStopsAtTheFirstStepThatMeasuresTheTarget() {
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 64);
        TrimLlmOptions options = TrimLlmOptions.defaults().withCalibration(48, 32, 32);
        List<Double> targets = List.of(1.25, 1.6);
        MethodContext context = MethodContext.builder(parent, settings)
                .calibration(DepthFixtures.miniLmCalibration(48, 32)).timing(DepthFixtures.miniLmTiming(64))
                .latencyRuns(3, 9).log(System.out::println).build();
        TrimLlmResult result = new TrimLlm(options).compress(context, targets);

        List<TrimStep> steps = result.steps();
        for (double target : targets) {
            CompressedVariant plain = result.variants().stream()
                    .filter(v -> v.method().equals(TrimLlm.METHOD) && v.targetSpeedup() == target).findFirst()
                    .orElseThrow();
            int first = 0;
            while (steps.get(first).measuredSpeedup() < target) {
                first++;
            }
            TrimStep stop = steps.get(first);
            assertEquals(stop.measuredSpeedup(), plain.measuredSpeedup(), "the variant is the first step at the target");
            assertTrue(plain.measuredSpeedup() >= target);
            assertEquals(stop.calibrationLoss(), plain.calibrationLoss());
            // Published refitted (same shapes, so the step's measurement stands): its error on the texts it was fitted
            // to fell.
            assertEquals(true, plain.parameters().get("refitted"));
            assertTrue((double) plain.parameters().get("lossAfterRefit") < plain.calibrationLoss());
            int blocks = TrimLlm.presentBlocks(StructureDetector.detect(plain.model())).size();
            assertEquals(12 - (first + 1), blocks, "one sub-block gone per step up to the stop");
        }
        assertEquals(steps.size(), steps.stream().map(TrimStep::dropped).distinct().count(), "no block dropped twice");
        assertTrue(steps.get(steps.size() - 1).measuredSpeedup() >= 1.6, "the loop ends at the last target");
        for (CompressedVariant variant : result.variants()) {
            assertTrue(variant.measuredSpeedup() >= variant.targetSpeedup(), variant.method() + " below its target");
        }
        assertTrue(result.unreached().isEmpty(), "both forms reach both targets: " + result.unreached());
        for (double target : targets) {
            int plainBlocks = blocksOf(result, TrimLlm.METHOD, target);
            int recoveredBlocks = blocksOf(result, TrimLlm.RECOVERED, target);
            assertTrue(recoveredBlocks <= plainBlocks, "the corrected form never keeps more blocks than the plain one");
        }
    }

    private static int blocksOf(TrimLlmResult result, String method, double target) {
        return TrimLlm.presentBlocks(StructureDetector.detect(result.variants().stream()
                .filter(v -> v.method().equals(method) && v.targetSpeedup() == target).findFirst().orElseThrow()
                .model())).size();
    }

    @Test
    void tiesGoToTheLargerOutputNorm() {
        assertTrue(TrimLlm.lessHarmful(0.1, 1.0, 0.2, 5.0), "lower loss wins");
        assertFalse(TrimLlm.lessHarmful(0.2, 9.0, 0.1, 1.0), "higher loss loses whatever its norm");
        assertTrue(TrimLlm.lessHarmful(0.1, 5.0, 0.1, 1.0), "equal loss: the larger norm goes first");
        assertFalse(TrimLlm.lessHarmful(0.1, 1.0, 0.1, 5.0));
    }
}
