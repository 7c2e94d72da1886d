package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.structure.ShapeConstant;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Rewrites the constants that encode an attention block's head counts and widths. Each rewritten constant
 * becomes a fresh initializer read only by this block's node, so a constant the exporter shared between
 * layers keeps its value elsewhere.
 */
final class ShapeConstantRewriter {

    private ShapeConstantRewriter() {
    }

    static void rewrite(MutableGraph graph, List<ShapeConstant> constants, ToLongFunction<ShapeConstant> newValue) {
        Map<String, Map<String, long[]>> byReaderAndTensor = new LinkedHashMap<>();
        for (ShapeConstant constant : constants) {
            long[] values = byReaderAndTensor.computeIfAbsent(constant.reader(), r -> new LinkedHashMap<>())
                    .computeIfAbsent(constant.tensor(), t -> TensorData.longs(graph.constantValue(t).orElseThrow()));
            values[constant.index()] = newValue.applyAsLong(constant);
        }
        byReaderAndTensor.forEach((reader, tensors) -> tensors.forEach((tensor, values) -> {
            TensorProto old = graph.constantValue(tensor).orElseThrow();
            String name = graph.addInitializer(tensor + "_pruned",
                    TensorData.longTensor(tensor, TensorData.dims(old), values));
            NodeProto readerNode = graph.requireProducer(reader);
            graph.rewireInput(readerNode, tensor, name);
        }));
    }
}
