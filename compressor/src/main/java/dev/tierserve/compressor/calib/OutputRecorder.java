package dev.tierserve.compressor.calib;

import dev.tierserve.compressor.data.EncodedBatch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Keeps one output of every batch, in order: a reference to compare candidates with (a few dozen texts). */
public final class OutputRecorder implements ActivationCollector {

    private final String output;
    private final List<float[]> batches = new ArrayList<>();

    public OutputRecorder(String output) {
        this.output = output;
    }

    @Override
    public Set<String> outputs() {
        return Set.of(output);
    }

    @Override
    public void accept(Map<String, Activation> outputs, EncodedBatch batch) {
        batches.add(outputs.get(output).values());
    }

    /** The recorded values of batch {@code index}. */
    public float[] batch(int index) {
        return batches.get(index);
    }

    public int batchCount() {
        return batches.size();
    }
}
