package dev.tierserve.compressor.calib;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.runtime.Feeds;
import dev.tierserve.compressor.runtime.Sessions;
import dev.tierserve.store.RuntimeSettings;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.AbstractMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Feeds tokenised batches through one ONNX Runtime session (a plain model or a search graph) and hands the
 * requested outputs of each batch to the collectors. Only one batch's outputs are alive at a time, so memory
 * is bounded by the batch size and the collectors' accumulators, not by the number of samples.
 */
public final class CalibrationRunner {

    private final RuntimeSettings.Provider provider;
    private final int threads;

    public CalibrationRunner(RuntimeSettings.Provider provider, int threads) {
        this.provider = provider;
        this.threads = threads;
    }

    /** Opens one session for many runs (e.g. scoring many candidates of a search graph). */
    public Session open(ModelProto model) {
        return new Session(Sessions.open(model, provider, threads));
    }

    /** One run over {@code batches} in a session of its own. */
    public void run(ModelProto model, Map<String, TensorProto> floatInputs, List<EncodedBatch> batches,
                    List<? extends ActivationCollector> collectors) {
        try (Session session = open(model)) {
            session.run(floatInputs, batches, collectors);
        }
    }

    /** An open ONNX Runtime session over a model; runs are sequential. */
    public static final class Session implements AutoCloseable {

        private final OrtSession session;

        private Session(OrtSession session) {
            this.session = session;
        }

        /**
         * @param floatInputs values for the model's extra float inputs (a search graph's masks, gates, weights),
         *                    made into tensors once for all batches
         */
        public void run(Map<String, TensorProto> floatInputs, List<EncodedBatch> batches,
                        List<? extends ActivationCollector> collectors) {
            Map<String, OnnxTensor> tensors = new HashMap<>();
            try {
                floatInputs.forEach((name, value) -> tensors.put(name, Feeds.floatTensor(value)));
                runOnTensors(tensors, batches, collectors);
            } finally {
                Feeds.close(tensors);
            }
        }

        /**
         * As {@link #run}, with the extra float inputs as tensors the caller owns (and closes): a caller that scores
         * many combinations of the same masks and weights makes each tensor once.
         */
        public void runOnTensors(Map<String, OnnxTensor> floatInputs, List<EncodedBatch> batches,
                                 List<? extends ActivationCollector> collectors) {
            Set<String> requested = new LinkedHashSet<>();
            collectors.forEach(c -> requested.addAll(c.outputs()));
            try {
                if (!session.getOutputNames().containsAll(requested)) {
                    Set<String> missing = new LinkedHashSet<>(requested);
                    missing.removeAll(session.getOutputNames());
                    throw new IllegalArgumentException("the model has no outputs " + missing);
                }
                // Values for inputs the model does not declare are ignored.
                Map<String, OnnxTensor> declared = new HashMap<>(floatInputs);
                declared.keySet().retainAll(session.getInputNames());
                for (EncodedBatch batch : batches) {
                    Map<String, OnnxTensor> tokens = Feeds.forBatch(session, batch, declared.keySet());
                    Map<String, OnnxTensor> feeds = new HashMap<>(declared);
                    feeds.putAll(tokens);
                    try (OrtSession.Result result = session.run(feeds, requested)) {
                        Map<String, Activation> outputs = new BatchOutputs(result);
                        for (ActivationCollector collector : collectors) {
                            collector.accept(outputs, batch);
                        }
                    } finally {
                        Feeds.close(tokens);
                    }
                }
            } catch (OrtException e) {
                throw new IllegalStateException("calibration run failed: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            Sessions.closeQuietly(session);
        }
    }

    /**
     * One batch's outputs, each copied out of ONNX Runtime's buffer when a collector reads it: a search graph's Gram
     * outputs are a width × width double matrix per probed projection (about 240 MB for all of BGE-small's), so a
     * batch holds one of them on the heap at a time, not all.
     */
    private static final class BatchOutputs extends AbstractMap<String, Activation> {

        private final OrtSession.Result result;

        BatchOutputs(OrtSession.Result result) {
            this.result = result;
        }

        @Override
        public Activation get(Object name) {
            Optional<OnnxValue> value = result.get((String) name);
            return value.map(v -> activation((OnnxTensor) v)).orElse(null);
        }

        @Override
        public boolean containsKey(Object name) {
            return result.get((String) name).isPresent();
        }

        @Override
        public Set<Entry<String, Activation>> entrySet() {
            Set<Entry<String, Activation>> entries = new LinkedHashSet<>();
            for (Map.Entry<String, OnnxValue> entry : result) {
                entries.add(new SimpleImmutableEntry<>(entry.getKey(), activation((OnnxTensor) entry.getValue())));
            }
            return entries;
        }

        private static Activation activation(OnnxTensor tensor) {
            long[] shape = tensor.getInfo().getShape();
            if (tensor.getInfo().type == OnnxJavaType.DOUBLE) {
                DoubleBuffer buffer = tensor.getDoubleBuffer();
                double[] values = new double[buffer.remaining()];
                buffer.get(values);
                return new Activation(null, values, shape);
            }
            FloatBuffer buffer = tensor.getFloatBuffer();
            float[] values = new float[buffer.remaining()];
            buffer.get(values);
            return new Activation(values, shape);
        }
    }
}
