package dev.tierserve.compressor.graph.structure;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.tierserve.compressor.graph.MutableGraph;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Recognises a normalisation applied to a tensor: the fused {@code LayerNormalization} op, or the
 * decomposed forms the PyTorch exporter writes: LayerNorm as {@code (x - mean) / sqrt(var + eps) * w + b}
 * and RMSNorm as {@code x * 1/sqrt(mean(x²) + eps) * w} (Div or Mul by a reciprocal).
 */
final class NormMatcher {

    private NormMatcher() {
    }

    static Optional<Norm> match(MutableGraph graph, String x) {
        for (NodeProto consumer : graph.consumers(x)) {
            if (consumer.getInput(0).equals(x)) {
                switch (consumer.getOpType()) {
                    case "LayerNormalization" -> {
                        return Optional.of(new Norm(Norm.Kind.LAYER_NORM, x, consumer.getOutput(0), consumer.getInput(1),
                                consumer.getInputCount() > 2 ? consumer.getInput(2) : null, 1));
                    }
                    case "SimplifiedLayerNormalization", "RMSNormalization" -> {
                        return Optional.of(new Norm(Norm.Kind.RMS_NORM, x, consumer.getOutput(0), consumer.getInput(1),
                                null, 1));
                    }
                    default -> { }
                }
            }
        }
        String centered = null;
        Norm.Kind kind = null;
        for (NodeProto consumer : graph.consumers(x)) {
            if (consumer.getOpType().equals("Sub") && consumer.getInput(0).equals(x)
                    && graph.producer(consumer.getInput(1)).map(p -> p.getOpType().equals("ReduceMean")
                    && p.getInput(0).equals(x)).orElse(false)) {
                centered = consumer.getOutput(0);
                kind = Norm.Kind.LAYER_NORM;
            }
        }
        if (centered == null && graph.consumers(x).stream().anyMatch(c -> c.getOpType().equals("Pow")
                && c.getInput(0).equals(x))) {
            centered = x;
            kind = Norm.Kind.RMS_NORM;
        }
        if (centered == null) {
            return Optional.empty();
        }
        String c = centered;
        Optional<NodeProto> scale = graph.consumers(centered).stream()
                .filter(n -> n.getOpType().equals("Div") && n.getInput(0).equals(c) && !graph.isConstant(n.getInput(1))
                        || n.getOpType().equals("Mul") && n.getInputList().contains(c)
                        && !other(n, c).equals(c) && !graph.isConstant(other(n, c)))
                .findFirst();
        if (scale.isEmpty()) {
            return Optional.empty();
        }
        String out = scale.get().getOutput(0);
        Optional<NodeProto> weight = single(graph, out, "Mul");
        if (weight.isEmpty() || !graph.isConstant(other(weight.get(), out))) {
            return Optional.empty();
        }
        String weightName = other(weight.get(), out);
        out = weight.get().getOutput(0);
        String bias = null;
        if (kind == Norm.Kind.LAYER_NORM) {
            Optional<NodeProto> shift = single(graph, out, "Add");
            if (shift.isPresent() && graph.isConstant(other(shift.get(), out))) {
                bias = other(shift.get(), out);
                out = shift.get().getOutput(0);
            }
        }
        return Optional.of(new Norm(kind, x, out, weightName, bias, countNodesBetween(graph, x, out)));
    }

    private static Optional<NodeProto> single(MutableGraph graph, String tensor, String opType) {
        List<NodeProto> consumers = graph.consumers(tensor);
        if (consumers.size() == 1 && consumers.get(0).getOpType().equals(opType) && !graph.isGraphOutput(tensor)) {
            return Optional.of(consumers.get(0));
        }
        return Optional.empty();
    }

    static String other(NodeProto binary, String known) {
        return binary.getInput(0).equals(known) ? binary.getInput(1) : binary.getInput(0);
    }

    private static int countNodesBetween(MutableGraph graph, String from, String to) {
        Set<String> seen = new HashSet<>();
        Deque<String> work = new ArrayDeque<>(List.of(to));
        int count = 0;
        while (!work.isEmpty()) {
            String tensor = work.pop();
            if (tensor.equals(from) || !seen.add(tensor)) {
                continue;
            }
            Optional<NodeProto> producer = graph.producer(tensor);
            if (producer.isPresent()) {
                count++;
                work.addAll(producer.get().getInputList());
            }
        }
        return count;
    }
}
