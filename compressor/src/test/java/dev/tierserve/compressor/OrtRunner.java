package dev.tierserve.compressor;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.synthetic.DecoderConfig;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Runs models in tests: one session per call, outputs copied out as float arrays. */
public final class OrtRunner {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private OrtRunner() {
    }

    /** Encoder inputs: random token ids (fixed seed), the last {@code padding} positions of row 0 masked. */
    public static Map<String, Object> encoderInputs(int batch, int seq, int padding, long seed) {
        Random random = new Random(seed);
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1000 + random.nextInt(20000);
            mask[i] = 1;
        }
        ids[0] = 101;
        for (int p = 0; p < padding; p++) {
            mask[seq - 1 - p] = 0;
            ids[seq - 1 - p] = 0;
        }
        Map<String, Object> inputs = new LinkedHashMap<>();
        inputs.put("input_ids", new LongInput(ids, new long[] {batch, seq}));
        inputs.put("attention_mask", new LongInput(mask, new long[] {batch, seq}));
        inputs.put("token_type_ids", new LongInput(new long[batch * seq], new long[] {batch, seq}));
        return inputs;
    }

    /**
     * Decoder inputs for a synthetic model: random tokens, positions continuing after {@code past} cached
     * positions, random past keys/values for every layer (ignored by models without a cache).
     */
    public static Map<String, Object> decoderInputs(DecoderConfig config, int batch, int seq, int past, long seed) {
        Random random = new Random(seed);
        long[] ids = new long[batch * seq];
        long[] positions = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(config.vocab());
            positions[i] = past + i % seq;
        }
        long[] mask = new long[batch * (past + seq)];
        java.util.Arrays.fill(mask, 1);
        Map<String, Object> inputs = new LinkedHashMap<>();
        inputs.put("input_ids", new LongInput(ids, new long[] {batch, seq}));
        inputs.put("attention_mask", new LongInput(mask, new long[] {batch, past + seq}));
        inputs.put("position_ids", new LongInput(positions, new long[] {batch, seq}));
        for (int layer = 0; layer < config.layers(); layer++) {
            for (String part : new String[] {"key", "value"}) {
                float[] values = new float[batch * config.kvHeads() * past * config.headDim()];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) random.nextGaussian();
                }
                inputs.put("past_key_values." + layer + "." + part,
                        new FloatInput(values, new long[] {batch, config.kvHeads(), past, config.headDim()}));
            }
        }
        return inputs;
    }

    public record LongInput(long[] values, long[] shape) {
    }

    public record FloatInput(float[] values, long[] shape) {
    }

    /** Runs a search graph: its mask, gate and weight inputs take their defaults unless {@code inputs} sets them. */
    public static Map<String, float[]> run(SearchGraph search, Map<String, Object> inputs) {
        Map<String, Object> feeds = new LinkedHashMap<>();
        search.defaults().forEach((name, value) -> feeds.put(name,
                new FloatInput(TensorData.floats(value), TensorData.dims(value))));
        feeds.putAll(inputs);
        return run(search.model(), feeds);
    }

    public static Map<String, float[]> run(ModelProto model, Map<String, Object> inputs) {
        return run(model, inputs, OrtSession.SessionOptions.OptLevel.BASIC_OPT);
    }

    public static Map<String, float[]> run(ModelProto model, Map<String, Object> inputs,
                                           OrtSession.SessionOptions.OptLevel level) {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(level);
            options.setIntraOpNumThreads(1);
            try (OrtSession session = ENV.createSession(model.toByteArray(), options)) {
                Map<String, OnnxTensor> feeds = new HashMap<>();
                try {
                    for (Map.Entry<String, Object> entry : inputs.entrySet()) {
                        if (!session.getInputNames().contains(entry.getKey())) {
                            continue; // e.g. the cache inputs of a dropped decoder layer
                        }
                        feeds.put(entry.getKey(), tensor(entry.getValue()));
                    }
                    Map<String, float[]> outputs = new LinkedHashMap<>();
                    try (OrtSession.Result result = session.run(feeds)) {
                        for (Map.Entry<String, OnnxValue> output : result) {
                            if (output.getValue() instanceof OnnxTensor t
                                    && t.getInfo().type == ai.onnxruntime.OnnxJavaType.FLOAT) {
                                FloatBuffer buffer = t.getFloatBuffer();
                                float[] values = new float[buffer.remaining()];
                                buffer.get(values);
                                outputs.put(output.getKey(), values);
                            }
                        }
                    }
                    return outputs;
                } finally {
                    feeds.values().forEach(OnnxTensor::close);
                }
            }
        } catch (OrtException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static OnnxTensor tensor(Object value) throws OrtException {
        if (value instanceof LongInput l) {
            return OnnxTensor.createTensor(ENV, LongBuffer.wrap(l.values()), l.shape());
        }
        if (value instanceof FloatInput f) {
            return OnnxTensor.createTensor(ENV, FloatBuffer.wrap(f.values()), f.shape());
        }
        throw new IllegalArgumentException("unsupported input " + value);
    }

    public static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
