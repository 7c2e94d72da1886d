package dev.tierserve.compressor.synthetic;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.graph.TensorData;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Appends nodes the way the PyTorch exporter names them: node {@code <scope>/<Op>[_k]}, output
 * {@code <node>_output_0}, constants as {@code Constant} nodes in the same scope, MatMul weights as
 * {@code onnx::MatMul_<n>} initializers (the exporter's name for a transposed Linear weight).
 */
final class GraphWriter {

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final Map<String, Integer> opCounts = new HashMap<>();
    private final Random random;
    private int matMulWeights = 100;

    GraphWriter(long seed) {
        this.random = new Random(seed);
    }

    GraphProto.Builder graph() {
        return graph;
    }

    /** Adds one node in {@code scope} and returns its single output. */
    String node(String scope, String op, List<String> inputs, AttributeProto... attributes) {
        String name = uniqueNodeName(scope, op);
        String output = name + "_output_0";
        graph.addNode(NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(inputs).addOutput(output)
                .addAllAttribute(List.of(attributes)));
        return output;
    }

    /** Adds a node with named outputs (graph outputs such as present keys, or several outputs). */
    void nodeWithOutputs(String scope, String op, List<String> inputs, List<String> outputs,
                         AttributeProto... attributes) {
        graph.addNode(NodeProto.newBuilder().setName(uniqueNodeName(scope, op)).setOpType(op).addAllInput(inputs)
                .addAllOutput(outputs).addAllAttribute(List.of(attributes)));
    }

    String constant(String scope, TensorProto value) {
        return node(scope, "Constant", List.of(), AttributeProto.newBuilder().setName("value")
                .setType(AttributeProto.AttributeType.TENSOR).setT(value.toBuilder().clearName()).build());
    }

    String longs(String scope, long... values) {
        return constant(scope, TensorData.longTensor("", new long[] {values.length}, values));
    }

    String scalarLong(String scope, long value) {
        return constant(scope, TensorData.longTensor("", new long[] {}, new long[] {value}));
    }

    String scalarFloat(String scope, float value) {
        return constant(scope, TensorData.floatTensor("", new long[] {}, new float[] {value}));
    }

    /** A named initializer with N(0, std²) entries. */
    String randomInitializer(String name, long[] dims, double std) {
        int count = 1;
        for (long dim : dims) {
            count *= (int) dim;
        }
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (random.nextGaussian() * std);
        }
        graph.addInitializer(TensorData.floatTensor(name, dims, values));
        return name;
    }

    /** A norm scale: ones plus N(0, 0.1²) noise, so that tests see every channel's weight matter. */
    String normWeight(String name, int size) {
        float[] values = new float[size];
        for (int i = 0; i < size; i++) {
            values[i] = (float) (1 + random.nextGaussian() * 0.1);
        }
        graph.addInitializer(TensorData.floatTensor(name, new long[] {size}, values));
        return name;
    }

    String initializer(TensorProto value) {
        graph.addInitializer(value);
        return value.getName();
    }

    /** A Linear layer's weight in MatMul layout [in, out]. */
    String matMulWeight(int in, int out, double std) {
        return randomInitializer("onnx::MatMul_" + (matMulWeights++), new long[] {in, out}, std);
    }

    static AttributeProto ints(String name, long... values) {
        AttributeProto.Builder attribute = AttributeProto.newBuilder().setName(name)
                .setType(AttributeProto.AttributeType.INTS);
        for (long value : values) {
            attribute.addInts(value);
        }
        return attribute.build();
    }

    static AttributeProto integer(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    static AttributeProto real(String name, float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    private String uniqueNodeName(String scope, String op) {
        String base = scope + "/" + op;
        int count = opCounts.merge(base, 1, Integer::sum);
        return count == 1 ? base : base + "_" + (count - 1);
    }
}
