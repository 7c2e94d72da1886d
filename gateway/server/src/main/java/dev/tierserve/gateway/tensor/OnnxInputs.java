package dev.tierserve.gateway.tensor;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decoded inputs checked against a model's declared inputs and turned into ONNX Runtime tensors. Closing it frees
 * the native tensors.
 */
public final class OnnxInputs implements AutoCloseable {

    private final Map<String, OnnxTensor> tensors;

    private OnnxInputs(Map<String, OnnxTensor> tensors) {
        this.tensors = tensors;
    }

    public Map<String, OnnxTensor> tensors() {
        return tensors;
    }

    /**
     * Checks every input against the model (names, datatypes, shapes, batch limit) before anything native is
     * allocated, and returns the inputs' batch: their common first dimension (1 when they have none). Failures are
     * INVALID_ARGUMENT naming the input.
     */
    public static int check(List<DecodedTensor> inputs, Map<String, NodeInfo> modelInputs, int maxBatchSize) {
        Map<String, DecodedTensor> byName = new LinkedHashMap<>();
        inputs.forEach(input -> byName.put(input.name(), input));
        for (String name : byName.keySet()) {
            if (!modelInputs.containsKey(name)) {
                throw TensorDecoder.invalid("model has no input '" + name + "'; its inputs: " + modelInputs.keySet());
            }
        }
        long batch = -1;
        for (NodeInfo declared : modelInputs.values()) {
            DecodedTensor input = byName.get(declared.getName());
            if (input == null) {
                throw TensorDecoder.invalid("missing input '" + declared.getName() + "'; the model needs "
                        + modelInputs.keySet());
            }
            TensorInfo info = (TensorInfo) declared.getInfo();
            Datatype expected = Datatype.of(info.onnxType);
            if (input.datatype() != expected) {
                throw TensorDecoder.invalid("input '" + input.name() + "': datatype " + input.datatype()
                        + " where the model expects " + expected);
            }
            long[] declaredShape = info.getShape();
            if (!TensorShapes.fits(input.shape(), declaredShape)) {
                throw TensorDecoder.invalid("input '" + input.name() + "': shape " + TensorShapes.format(input.shape())
                        + " does not fit the model's " + TensorShapes.format(declaredShape) + " (-1: any size)");
            }
            if (input.shape().length > 0) {
                long first = input.shape()[0];
                if (first > maxBatchSize) {
                    throw TensorDecoder.invalid("input '" + input.name() + "': batch " + first
                            + " exceeds the maximum batch size " + maxBatchSize);
                }
                if (batch >= 0 && first != batch) {
                    throw TensorDecoder.invalid("input '" + input.name() + "': batch " + first
                            + " differs from the other inputs' " + batch);
                }
                batch = first;
            }
        }
        return (int) Math.max(batch, 1);
    }

    /** Creates the native tensors of inputs that passed {@link #check}. */
    public static OnnxInputs create(OrtEnvironment environment, List<DecodedTensor> inputs) {
        Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
        try {
            for (DecodedTensor input : inputs) {
                tensors.put(input.name(), create(environment, input));
            }
        } catch (io.grpc.StatusRuntimeException e) {
            tensors.values().forEach(OnnxTensor::close);
            throw e;
        } catch (OrtException | RuntimeException e) {
            tensors.values().forEach(OnnxTensor::close);
            throw Status.INTERNAL.withDescription("cannot create input tensors: " + e.getMessage()).withCause(e)
                    .asRuntimeException();
        }
        return new OnnxInputs(tensors);
    }

    private static OnnxTensor create(OrtEnvironment environment, DecodedTensor input) throws OrtException {
        if (input.datatype() == Datatype.BYTES) {
            String[] strings = Arrays.stream(input.strings())
                    .map(bytes -> new String(bytes, StandardCharsets.UTF_8)).toArray(String[]::new);
            return OnnxTensor.createTensor(environment, strings, input.shape());
        }
        if (input.datatype().onnxJavaType() == null) {
            throw TensorDecoder.invalid("input '" + input.name() + "': " + input.datatype()
                    + " tensors are not supported by ONNX Runtime's Java API");
        }
        return OnnxTensor.createTensor(environment, input.data(), input.shape(), input.datatype().onnxJavaType());
    }

    @Override
    public void close() {
        tensors.values().forEach(OnnxTensor::close);
    }
}
