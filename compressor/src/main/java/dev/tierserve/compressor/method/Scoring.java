package dev.tierserve.compressor.method;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.OutputRecorder;
import dev.tierserve.compressor.calib.RelativeError;
import dev.tierserve.compressor.data.EncodedBatch;

import java.util.List;
import java.util.Map;

/**
 * Texts that score candidate models, with the parent's outputs on them: a candidate's calibration loss is its
 * relative output error against the parent ({@link RelativeError}). Made by {@link MethodContext#scoring(List)}.
 */
public final class Scoring {

    private final List<EncodedBatch> batches;
    private final OutputRecorder reference;
    private final String output;
    private final CalibrationRunner runner;

    Scoring(List<EncodedBatch> batches, OutputRecorder reference, String output, CalibrationRunner runner) {
        this.batches = List.copyOf(batches);
        this.reference = reference;
        this.output = output;
        this.runner = runner;
    }

    public List<EncodedBatch> batches() {
        return batches;
    }

    /** A fresh collector of a candidate's error, for a run on a session of the caller's (a search graph). */
    public RelativeError error() {
        return new RelativeError(output, reference);
    }

    /** The calibration loss of {@code model}: one run over the scoring texts. */
    public double loss(ModelProto model) {
        RelativeError error = error();
        runner.run(model, Map.of(), batches, List.of(error));
        return error.value();
    }
}
