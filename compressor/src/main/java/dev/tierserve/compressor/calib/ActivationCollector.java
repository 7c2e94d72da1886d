package dev.tierserve.compressor.calib;

import dev.tierserve.compressor.data.EncodedBatch;

import java.util.Map;
import java.util.Set;

/** Accumulates statistics of some graph outputs batch by batch, holding no batch after it returns. */
public interface ActivationCollector {

    /** The graph outputs (probes or model outputs) this collector reads. */
    Set<String> outputs();

    void accept(Map<String, Activation> outputs, EncodedBatch batch);
}
