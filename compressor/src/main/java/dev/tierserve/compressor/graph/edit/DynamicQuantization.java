package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;

import java.util.List;
import java.util.Optional;

/**
 * Dynamic int8 quantization of every MatMul whose weight is a 2-D float initializer, written with standard ONNX
 * operators (opset 10+): the activation is quantized per call ({@code DynamicQuantizeLinear}, uint8, asymmetric),
 * the weight once here (int8, symmetric, one scale per output column), the product is integer
 * ({@code MatMulInteger}) and scaled back to float. ONNX Runtime's CPU provider fuses the pattern into one
 * quantized kernel ({@code DynamicQuantizeMatMul}); every other runtime can still execute it as written.
 *
 * <p>Weights use 7 bits ({@code [-63, 63]}) unless told otherwise: x86 CPUs without VNNI multiply uint8 by int8
 * with an instruction that saturates 16-bit pair sums, which 8-bit weights can overflow, so the accuracy measured
 * on one machine would not hold on another. The cost is one bit of weight resolution.
 */
public final class DynamicQuantization {

    /** Symmetric weight range used by default: 7 bits, safe from 16-bit saturation on every x86 kernel. */
    public static final int REDUCED_RANGE = 63;
    /** The full int8 weight range, for runtimes known to accumulate uint8 x int8 without saturation. */
    public static final int FULL_RANGE = 127;

    private DynamicQuantization() {
    }

    /** What the pass changed. */
    public record Result(ModelProto model, int quantized, int skipped) {
    }

    public static Result quantize(ModelProto model) {
        return quantize(model, REDUCED_RANGE);
    }

    public static Result quantize(ModelProto model, int weightRange) {
        if (weightRange < 1 || weightRange > FULL_RANGE) {
            throw new IllegalArgumentException("weight range must be within 1..127, got " + weightRange);
        }
        MutableGraph graph = new MutableGraph(model);
        if (graph.opsetVersion() < 10) {
            throw new IllegalArgumentException("dynamic quantization needs ONNX opset 10 or later; the model has "
                    + graph.opsetVersion());
        }
        int quantized = 0;
        int skipped = 0;
        for (NodeProto node : List.copyOf(graph.nodes())) {
            if (!node.getOpType().equals("MatMul")) {
                continue;
            }
            Optional<TensorProto> weight = graph.initializer(node.getInput(1))
                    .filter(w -> w.getDimsCount() == 2 && w.getDataType() == TensorProto.DataType.FLOAT_VALUE);
            if (weight.isEmpty()) {
                skipped++;
                continue;
            }
            quantizeMatMul(graph, node, weight.get(), weightRange);
            quantized++;
        }
        graph.removeDeadNodes();
        return new Result(graph.toModel(), quantized, skipped);
    }

    private static void quantizeMatMul(MutableGraph graph, NodeProto matMul, TensorProto weight, int range) {
        int rows = (int) weight.getDims(0);
        int cols = (int) weight.getDims(1);
        float[] w = TensorData.floats(weight);
        float[] scales = new float[cols];
        for (int c = 0; c < cols; c++) {
            float max = 0;
            for (int r = 0; r < rows; r++) {
                max = Math.max(max, Math.abs(w[r * cols + c]));
            }
            scales[c] = max > 0 ? max / range : 1f;
        }
        byte[] q = new byte[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                q[r * cols + c] = (byte) Math.max(-range, Math.min(range, Math.round(w[r * cols + c] / scales[c])));
            }
        }
        String base = matMul.getName().isEmpty() ? matMul.getOutput(0) : matMul.getName();
        String qWeight = graph.addInitializer(weight.getName() + "_int8", int8Tensor(new long[] {rows, cols}, q));
        String wScale = graph.addInitializer(weight.getName() + "_scale", TensorData.fromVector("s", scales));
        String wZero = graph.addInitializer(weight.getName() + "_zero_point", int8Tensor(new long[] {cols},
                new byte[cols]));

        String quantizeName = graph.uniqueName(base + "_quantize_input");
        String qInput = graph.uniqueName(quantizeName + "_output_0");
        String inScale = graph.uniqueName(quantizeName + "_scale");
        String inZero = graph.uniqueName(quantizeName + "_zero_point");
        graph.addNode(NodeProto.newBuilder().setOpType("DynamicQuantizeLinear").setName(quantizeName)
                .addInput(matMul.getInput(0)).addOutput(qInput).addOutput(inScale).addOutput(inZero).build());
        String product = graph.addNode("MatMulInteger", base + "_int8", List.of(qInput, qWeight, inZero, wZero));
        String asFloat = graph.addNode("Cast", base + "_to_float", List.of(product), AttributeProto.newBuilder()
                .setName("to").setType(AttributeProto.AttributeType.INT).setI(TensorProto.DataType.FLOAT_VALUE)
                .build());
        String scale = graph.addNode("Mul", base + "_scale", List.of(inScale, wScale));
        // The original output name is kept so that every consumer (and a graph output) reads the rescaled product.
        NodeProto rescale = NodeProto.newBuilder().setOpType("Mul").setName(graph.uniqueName(base + "_rescale"))
                .addInput(asFloat).addInput(scale).addOutput(matMul.getOutput(0)).build();
        graph.replaceNode(matMul, rescale);
    }

    private static TensorProto int8Tensor(long[] dims, byte[] values) {
        TensorProto.Builder tensor = TensorProto.newBuilder().setDataType(TensorProto.DataType.INT8_VALUE)
                .setRawData(ByteString.copyFrom(values));
        for (long dim : dims) {
            tensor.addDims(dim);
        }
        return tensor.build();
    }
}
