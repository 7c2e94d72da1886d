package dev.tierserve.compressor.runtime;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.TensorData;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Builds the input tensors a session declares from a tokenised batch: {@code input_ids},
 * {@code attention_mask}, {@code token_type_ids}, {@code position_ids} (0..sequence-1) and an empty KV cache
 * for decoders ({@code past_key_values.*} with zero past positions). A search graph's extra float inputs (masks,
 * gates, weights) are the caller's: it names them and feeds its own tensors ({@link #floatTensor}), made once for
 * all batches. The caller closes the tensors made here ({@link #close}).
 */
public final class Feeds {

    private Feeds() {
    }

    /**
     * @param supplied inputs the caller feeds itself; any other input that is neither a token input nor a KV cache
     *                 is an error
     */
    public static Map<String, OnnxTensor> forBatch(OrtSession session, EncodedBatch batch, Set<String> supplied) {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            for (Map.Entry<String, NodeInfo> input : session.getInputInfo().entrySet()) {
                String name = input.getKey();
                if (supplied.contains(name)) {
                    continue;
                }
                OnnxTensor tensor = switch (name) {
                    case "input_ids" -> longs(batch.inputIds(), batch.shape());
                    case "attention_mask" -> longs(batch.attentionMask(), batch.shape());
                    case "token_type_ids" -> longs(batch.tokenTypeIds(), batch.shape());
                    case "position_ids" -> longs(positions(batch), batch.shape());
                    default -> emptyCache(name, (TensorInfo) input.getValue().getInfo(), batch);
                };
                feeds.put(name, tensor);
            }
            return feeds;
        } catch (OrtException | RuntimeException e) {
            close(feeds);
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
        }
    }

    public static void close(Map<String, OnnxTensor> feeds) {
        feeds.values().forEach(OnnxTensor::close);
    }

    /** A float initializer-style tensor as an ONNX Runtime tensor; the caller closes it. */
    public static OnnxTensor floatTensor(TensorProto value) {
        try {
            return OnnxTensor.createTensor(Sessions.environment(), FloatBuffer.wrap(TensorData.floats(value)),
                    TensorData.dims(value));
        } catch (OrtException e) {
            throw new IllegalStateException("cannot make a tensor of '" + value.getName() + "': " + e.getMessage(), e);
        }
    }

    private static OnnxTensor emptyCache(String name, TensorInfo info, EncodedBatch batch) throws OrtException {
        if (name.startsWith("past_key_values.")) {
            long[] shape = info.getShape().clone();
            shape[0] = batch.batch();
            shape[2] = 0;
            return OnnxTensor.createTensor(Sessions.environment(), FloatBuffer.allocate(0), shape);
        }
        throw new IllegalArgumentException("no value for model input '" + name + "'");
    }

    private static long[] positions(EncodedBatch batch) {
        long[] positions = new long[batch.batch() * batch.sequence()];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i % batch.sequence();
        }
        return positions;
    }

    private static OnnxTensor longs(long[] values, long[] shape) throws OrtException {
        return OnnxTensor.createTensor(Sessions.environment(), LongBuffer.wrap(values), shape);
    }
}
