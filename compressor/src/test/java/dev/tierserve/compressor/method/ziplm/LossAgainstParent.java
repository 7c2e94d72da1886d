package dev.tierserve.compressor.method.ziplm;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.OutputRecorder;
import dev.tierserve.compressor.calib.RelativeError;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.store.RuntimeSettings;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A physical model's relative output error against the parent's on some texts: what ZipLM's search scores. */
final class LossAgainstParent {

    private final CalibrationRunner runner;
    private final List<EncodedBatch> texts;
    private final String output;
    private final OutputRecorder reference;

    LossAgainstParent(ModelProto parent, List<EncodedBatch> texts, RuntimeSettings settings) {
        this.runner = new CalibrationRunner(settings.provider(), settings.threads());
        this.texts = texts;
        this.output = parent.getGraph().getOutput(0).getName();
        this.reference = new OutputRecorder(output);
        runner.run(parent, Map.of(), texts, List.of(reference));
    }

    double of(ModelProto model) {
        RelativeError error = new RelativeError(output, reference);
        runner.run(model, Map.of(), texts, List.of(error));
        return error.value();
    }

    /**
     * The loss the search scored through masks and OBS weights must be the physical variant's (before its refit),
     * and the refit, fitted on these texts among others, must lower it.
     */
    void assertSearchLossIsPhysicalAndRefitLowersIt(ZipLmResult result) {
        double physical = of(result.obsOnly());
        assertEquals(result.calibrationLoss(), physical, 1e-4 * Math.max(1, physical),
                "loss scored through the search graph vs the physical variant's");
        assertTrue(physical > 0);
        double refitted = of(result.model());
        assertTrue(refitted < physical, "refitted " + refitted + " vs " + physical);
    }
}
