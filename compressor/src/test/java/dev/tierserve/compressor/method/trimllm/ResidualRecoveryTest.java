package dev.tierserve.compressor.method.trimllm;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.OrtRunner;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.OutputRecorder;
import dev.tierserve.compressor.calib.RelativeError;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.edit.ChannelAffine;
import dev.tierserve.compressor.graph.edit.SubBlock;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval.Span;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.method.DepthFixtures;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResidualRecoveryTest {

    private static final String OUTPUT = "last_hidden_state";
    private final ModelProto parent = TestModels.load(TestModels.MINILM);
    private final StructureMap map = StructureDetector.detect(parent);

    @Test
    void leastSquaresRecoversAPlantedAffineMapAndIgnoresPadding() {
        int width = 3;
        int rows = 200;
        Random random = new Random(1);
        float[] source = new float[rows * width];
        float[] target = new float[rows * width];
        long[] mask = new long[rows];
        float[] scale = {2f, -0.5f, 1f};
        float[] shift = {1f, 0.25f, -3f};
        for (int r = 0; r < rows; r++) {
            mask[r] = r % 5 == 4 ? 0 : 1;
            for (int c = 0; c < width; c++) {
                source[r * width + c] = (float) random.nextGaussian();
                // Padding rows carry garbage that must not enter the fit.
                target[r * width + c] = mask[r] == 0 ? 1e6f : scale[c] * source[r * width + c] + shift[c];
            }
        }
        ChannelAffineFit fit = new ChannelAffineFit(width);
        fit.add(source, target, mask);
        ChannelAffine solved = fit.solve();
        assertEquals(160, fit.tokens());
        for (int c = 0; c < width; c++) {
            assertEquals(scale[c], solved.scale()[c], 1e-4);
            assertEquals(shift[c], solved.shift()[c], 1e-4);
        }
    }

    @Test
    void anIdentityCorrectionEqualsThePlainDrop() {
        Set<SubBlock> dropped = new TreeSet<>(List.of(SubBlock.attention(2), SubBlock.mlp(2), SubBlock.mlp(4)));
        List<Span> spans = SubBlockRemoval.spans(map, dropped);
        assertEquals(2, spans.size(), "layer 2 is one span, layer 4's MLP another");
        Map<String, ChannelAffine> identity = Map.of(spans.get(0).target(), ChannelAffine.identity(384),
                spans.get(1).target(), ChannelAffine.identity(384));
        Map<String, Object> inputs = OrtRunner.encoderInputs(2, 16, 3, 5);
        float[] plain = OrtRunner.run(SubBlockRemoval.drop(parent, map, dropped), inputs).get(OUTPUT);
        float[] corrected = OrtRunner.run(SubBlockRemoval.drop(parent, map, dropped, identity), inputs).get(OUTPUT);
        assertTrue(OrtRunner.maxAbsDiff(plain, corrected) < 1e-6);
    }

    @Test
    void fittedCorrectionsBringTheStreamCloserToTheParent() {
        List<EncodedBatch> calibration = DepthFixtures.miniLmCalibration(64, 32);
        CalibrationRunner runner = new CalibrationRunner(RuntimeSettings.Provider.CPU, 2);
        Set<SubBlock> dropped = new TreeSet<>(List.of(SubBlock.attention(3), SubBlock.mlp(5)));
        ModelProto corrected = ResidualRecovery.fit(parent, map, dropped, calibration, runner);
        StructureMap correctedMap = StructureDetector.detect(corrected);
        assertEquals(6, correctedMap.layerCount(), "the detector walks through the corrections");
        assertEquals(null, correctedMap.layer(3).attention());
        assertEquals(null, correctedMap.layer(5).mlp());
        assertTrue(correctedMap.layer(4).attention() != null && correctedMap.layer(4).mlp() != null);

        // On the calibration tokens, the stream right after the first span is nearer the parent's (a least-squares
        // fit cannot do worse than the identity it could have chosen).
        Span first = SubBlockRemoval.spans(map, dropped).get(0);
        OutputRecorder parentStream = new OutputRecorder(first.target());
        runner.run(MutableGraph.withOutputs(parent, List.of(first.target())), Map.of(), calibration,
                List.of(parentStream));
        // Without a correction the stream after the span is its source; with one, the correction's output keeps
        // the target's name.
        RelativeError plainError = new RelativeError(first.source(), parentStream);
        runner.run(MutableGraph.withOutputs(SubBlockRemoval.drop(parent, map, dropped), List.of(first.source())),
                Map.of(), calibration, List.of(plainError));
        RelativeError correctedError = new RelativeError(first.target(), parentStream);
        runner.run(MutableGraph.withOutputs(corrected, List.of(first.target())), Map.of(), calibration,
                List.of(correctedError));
        assertTrue(correctedError.value() < plainError.value(),
                "corrected " + correctedError.value() + " vs plain " + plainError.value());
    }
}
