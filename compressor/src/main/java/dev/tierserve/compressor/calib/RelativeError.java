package dev.tierserve.compressor.calib;

import dev.tierserve.compressor.data.EncodedBatch;

import java.util.Map;
import java.util.Set;

/**
 * ‖y − y₀‖² / ‖y₀‖² over the real (unpadded) tokens of the same batches: the calibration loss of a candidate
 * against the parent's recorded output. Forward-only, and the same for encoders (hidden states) and decoders
 * (logits).
 */
public final class RelativeError implements ActivationCollector {

    private final String output;
    private final OutputRecorder reference;
    private int batch;
    private double difference;
    private double energy;

    public RelativeError(String output, OutputRecorder reference) {
        this.output = output;
        this.reference = reference;
    }

    @Override
    public Set<String> outputs() {
        return Set.of(output);
    }

    @Override
    public void accept(Map<String, Activation> outputs, EncodedBatch encoded) {
        Activation activation = outputs.get(output);
        float[] expected = reference.batch(batch++);
        float[] actual = activation.values();
        int width = activation.width();
        activation.forEachRealToken(encoded, (offset, token) -> {
            for (int c = 0; c < width; c++) {
                double d = actual[offset + c] - expected[offset + c];
                difference += d * d;
                energy += (double) expected[offset + c] * expected[offset + c];
            }
        });
    }

    public double value() {
        return energy == 0 ? 0 : difference / energy;
    }
}
