package dev.tierserve.compressor.graph.structure;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.structure.ShapeConstant.Role;
import dev.tierserve.compressor.graph.structure.StructureMap.Layout;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Builds a {@link StructureMap} by walking the residual stream: from the stream tensor, the residual Add
 * that consumes it leads back through an output projection to one sub-block (attention if a Softmax lies
 * between, else MLP); norms are matched before the block (pre-norm) or after the Add (post-norm). The walk
 * relies on op patterns, not on node names, so any exporter that keeps these patterns is mapped.
 */
public final class StructureDetector {

    /** Model metadata key the project's decoder builder sets on randomly initialised models. */
    public static final String SYNTHETIC_METADATA_KEY = "tierserve.synthetic";

    private static final Set<String> SHAPE_PASS_THROUGH = Set.of("Reshape", "Transpose", "Expand", "Unsqueeze",
            "Squeeze", "Concat", "Cast", "Identity", "Mul", "Add", "Sub", "Neg", "Slice", "Div", "Split");

    private final MutableGraph graph;

    private StructureDetector(MutableGraph graph) {
        this.graph = graph;
    }

    public static StructureMap detect(ModelProto model) {
        return new StructureDetector(new MutableGraph(model)).detect(isSynthetic(model),
                LayerOrigins.read(model).orElse(null));
    }

    /** A graph without the model's record of {@link LayerOrigins}: every layer is its own origin. */
    public static StructureMap detect(MutableGraph graph, boolean synthetic) {
        return new StructureDetector(graph).detect(synthetic, null);
    }

    public static boolean isSynthetic(ModelProto model) {
        return model.getMetadataPropsList().stream()
                .anyMatch(p -> p.getKey().equals(SYNTHETIC_METADATA_KEY) && p.getValue().equals("true"));
    }

    private StructureMap detect(boolean synthetic, List<LayerOrigins.Entry> origins) {
        NodeProto first = graph.nodes().stream().filter(this::isWeightedMatMul).findFirst()
                .orElseThrow(() -> new StructurePatternException("a MatMul with a 2-D weight initializer", "the graph",
                        "no projection found"));
        String firstInput = first.getInput(0);
        Layout layout;
        String stream;
        if (residualAdd(firstInput).isPresent()) {
            layout = Layout.POST_NORM;
            stream = firstInput;
        } else {
            layout = Layout.PRE_NORM;
            stream = normInputFor(firstInput).orElseThrow(() -> new StructurePatternException(
                    "a residual stream (read by a residual Add, directly or through a norm)",
                    "node " + first.getName(), "input " + firstInput));
        }
        String start = stream;
        int hidden = graph.initializer(first.getInput(1)).map(t -> (int) t.getDims(0)).orElseThrow();

        Walk walk = walk(stream, layout, hidden, origins);
        if (origins != null && !walk.matches(origins)) {
            // A record that does not fit the graph (an edit that did not keep it) is ignored.
            walk = walk(stream, layout, hidden, null);
        }
        List<TransformerLayer> layers = walk.layers();
        if (layers.isEmpty()) {
            throw new StructurePatternException("a residual Add joining a sub-block to the stream",
                    "tensor " + start, "no transformer layer found");
        }
        stream = walk.end();
        Norm finalNorm = null;
        Projection lmHead = null;
        if (layout == Layout.PRE_NORM) {
            String last = stream;
            finalNorm = NormMatcher.match(graph, stream).orElseThrow(() -> new StructurePatternException(
                    "the final norm", "tensor " + last, "after the last layer"));
            lmHead = weightedMatMulConsumers(finalNorm.output()).stream().findFirst().map(this::projectionFrom)
                    .orElse(null);
        }
        return new StructureMap(layout, hidden, start, embeddings(), List.copyOf(layers), finalNorm, lmHead, synthetic);
    }

    /** The layers found along the stream, and the stream after the last of them. */
    private record Walk(List<TransformerLayer> layers, String end) {

        boolean matches(List<LayerOrigins.Entry> origins) {
            if (layers.size() != origins.size()) {
                return false;
            }
            for (int i = 0; i < layers.size(); i++) {
                TransformerLayer layer = layers.get(i);
                LayerOrigins.Entry entry = origins.get(i);
                if ((layer.attention() != null) != entry.attention() || (layer.mlp() != null) != entry.mlp()) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Sub-blocks in stream order, grouped into layers: an attention and the MLP after it form one layer unless
     * {@code origins} (null when none) says that attention's layer has no MLP left.
     */
    private Walk walk(String stream, Layout layout, int hidden, List<LayerOrigins.Entry> origins) {
        List<TransformerLayer> layers = new ArrayList<>();
        Block pending = null;
        String layerInput = stream;
        while (true) {
            Optional<Block> block = matchBlock(stream, layout, "layer " + layers.size());
            if (block.isEmpty()) {
                Optional<String> corrected = afterChannelAffine(stream, hidden);
                if (corrected.isEmpty()) {
                    break;
                }
                stream = corrected.get();
                if (pending == null) {
                    layerInput = stream;
                }
                continue;
            }
            Block b = block.get();
            if (b.attention != null) {
                if (pending != null) {
                    layers.add(layer(layers.size(), layerInput, pending, null, origins));
                    layerInput = stream;
                }
                pending = b;
            } else {
                if (pending != null && origins != null && layers.size() < origins.size()
                        && !origins.get(layers.size()).mlp()) {
                    // The attention's layer lost its MLP: this MLP is the next layer's.
                    layers.add(layer(layers.size(), layerInput, pending, null, origins));
                    layerInput = stream;
                    pending = null;
                }
                layers.add(layer(layers.size(), layerInput, pending, b, origins));
                pending = null;
                layerInput = b.output;
            }
            stream = b.output;
        }
        if (pending != null) {
            layers.add(layer(layers.size(), layerInput, pending, null, origins));
        }
        return new Walk(List.copyOf(layers), stream);
    }

    private static TransformerLayer layer(int index, String input, Block attention, Block mlp,
                                          List<LayerOrigins.Entry> origins) {
        int origin = origins != null && index < origins.size() ? origins.get(index).origin() : index;
        if (attention == null) {
            return new TransformerLayer(index, origin, input, null, null, input, mlp.norm, mlp.mlp, mlp.output);
        }
        String afterAttention = attention.output;
        return new TransformerLayer(index, origin, input, attention.norm, attention.attention, afterAttention,
                mlp == null ? null : mlp.norm, mlp == null ? null : mlp.mlp, mlp == null ? afterAttention : mlp.output);
    }

    // ---- one sub-block ----

    private record Block(Norm norm, AttentionBlock attention, MlpBlock mlp, String output) {
    }

    private Optional<Block> matchBlock(String stream, Layout layout, String where) {
        Optional<NodeProto> add = residualAdd(stream);
        if (add.isEmpty()) {
            return Optional.empty();
        }
        String blockOutput = NormMatcher.other(add.get(), stream);
        String blockInput = stream;
        Norm norm = null;
        if (layout == Layout.PRE_NORM) {
            norm = NormMatcher.match(graph, stream).orElseThrow(() -> new StructurePatternException(
                    "a norm before the sub-block", where + ", tensor " + stream, ""));
            blockInput = norm.output();
        }
        Projection out = projectionProducing(blockOutput).orElseThrow(() -> new StructurePatternException(
                "an output projection (MatMul with a weight initializer, optional bias Add)",
                where + ", tensor " + blockOutput, "the residual Add's other input"));
        Set<String> region = region(blockInput, out.input());
        boolean isAttention = region.stream().map(graph::producer).flatMap(Optional::stream)
                .anyMatch(n -> n.getOpType().equals("Softmax"));
        String sum = add.get().getOutput(0);
        String output = sum;
        if (layout == Layout.POST_NORM) {
            norm = NormMatcher.match(graph, sum).orElseThrow(() -> new StructurePatternException(
                    "a LayerNorm after the residual Add", where + ", tensor " + sum, ""));
            output = norm.output();
        }
        if (isAttention) {
            return Optional.of(new Block(norm, matchAttention(blockInput, out, region, sum, where), null, output));
        }
        return Optional.of(new Block(norm, null, matchMlp(blockInput, out, region, sum, where), output));
    }

    private AttentionBlock matchAttention(String input, Projection out, Set<String> region, String residual,
                                          String where) {
        String context = out.input();
        NodeProto softmax = nodesIn(region).stream().filter(n -> n.getOpType().equals("Softmax")).findFirst().orElseThrow();
        NodeProto contextMatMul = firstForward(softmax.getOutput(0), region, "MatMul").orElseThrow(() ->
                new StructurePatternException("a MatMul of the attention probabilities with V", where, ""));
        NodeProto scoresMatMul = firstBackward(softmax.getInput(0), region, "MatMul").orElseThrow(() ->
                new StructurePatternException("a MatMul of Q with K before the Softmax", where, ""));
        Set<String> stop = Set.of(scoresMatMul.getOutput(0), contextMatMul.getOutput(0));

        List<Projection> projections = weightedMatMulConsumers(input).stream()
                .filter(n -> region.contains(n.getOutput(0))).map(this::projectionFrom).toList();
        Projection query = null;
        Projection key = null;
        Projection value = null;
        Projection packed = null;
        String queryBranch;
        String keyBranch;
        String valueBranch;
        List<ShapeConstant> constants = new ArrayList<>();
        if (projections.size() == 3) {
            for (Projection p : projections) {
                Set<String> reach = forward(p.output(), region, stop);
                if (reach.contains(scoresMatMul.getInput(0))) {
                    query = p;
                } else if (reach.contains(scoresMatMul.getInput(1))) {
                    key = p;
                } else if (reach.contains(contextMatMul.getInput(1))) {
                    value = p;
                }
            }
            if (query == null || key == null || value == null) {
                throw new StructurePatternException("Q, K and V projections feeding QKᵀ and the context product",
                        where, "found " + projections.size() + " projections but could not tell their roles");
            }
            queryBranch = query.output();
            keyBranch = key.output();
            valueBranch = value.output();
        } else if (projections.size() == 1) {
            packed = projections.get(0);
            Projection p = packed;
            NodeProto split = graph.consumers(p.output()).stream().filter(n -> n.getOpType().equals("Split"))
                    .findFirst().orElseThrow(() -> new StructurePatternException("a Split of the packed QKV projection",
                            where + ", tensor " + p.output(), ""));
            if (split.getInputCount() < 2 || graph.constantValue(split.getInput(1)).isEmpty()) {
                throw new StructurePatternException("split sizes as a constant input (opset 13+)",
                        where + ", node " + split.getName(), "");
            }
            String[] branches = new String[3];
            for (String output : split.getOutputList()) {
                Set<String> reach = forward(output, region, stop);
                int role = reach.contains(scoresMatMul.getInput(0)) ? 0
                        : reach.contains(scoresMatMul.getInput(1)) ? 1 : reach.contains(contextMatMul.getInput(1)) ? 2 : -1;
                if (role >= 0) {
                    branches[role] = output;
                }
            }
            if (branches[0] == null || branches[1] == null || branches[2] == null) {
                throw new StructurePatternException("Split outputs feeding Q, K and V", where + ", node " + split.getName(), "");
            }
            queryBranch = branches[0];
            keyBranch = branches[1];
            valueBranch = branches[2];
            String sizes = split.getInput(1);
            String reader = split.getOutput(0);
            constants.add(new ShapeConstant(sizes, 0, Role.ATTENTION_WIDTH, element(sizes, 0), reader));
            constants.add(new ShapeConstant(sizes, 1, Role.KV_WIDTH, element(sizes, 1), reader));
            constants.add(new ShapeConstant(sizes, 2, Role.KV_WIDTH, element(sizes, 2), reader));
        } else {
            throw new StructurePatternException("three Q/K/V projections or one packed QKV projection",
                    where + ", tensor " + input, "found " + projections.size());
        }

        collectBranchConstants(queryBranch, region, stop, true, constants);
        collectBranchConstants(keyBranch, region, stop, false, constants);
        collectBranchConstants(valueBranch, region, stop, false, constants);
        collectContextConstants(context, contextMatMul, region, constants);

        int queryWidth = packed == null ? query.outFeatures() : (int) element(packed, constants, Role.ATTENTION_WIDTH);
        int keyWidth = packed == null ? key.outFeatures() : (int) element(packed, constants, Role.KV_WIDTH);
        long headDim = agreed(constants, Role.HEAD_DIM, where);
        long heads = agreed(constants, Role.HEADS, where);
        if (headDim <= 0 && heads > 0) {
            headDim = queryWidth / heads;
        }
        if (headDim <= 0) {
            throw new StructurePatternException("a Reshape constant giving the head count or head dim",
                    where + ", Q branch from " + queryBranch, "");
        }
        heads = queryWidth / headDim;
        long kvHeads = keyWidth / headDim;
        checkConstants(constants, heads, kvHeads, headDim, where);

        String[] cache = cacheTensors(keyBranch, valueBranch, region, stop);
        return new AttentionBlock(input, query, key, value, packed, out, (int) heads, (int) kvHeads, (int) headDim,
                List.copyOf(constants), residual, cache[0], cache[1], cache[2], cache[3]);
    }

    private MlpBlock matchMlp(String input, Projection down, Set<String> region, String residual, String where) {
        String activation = down.input();
        List<Projection> projections = weightedMatMulConsumers(input).stream()
                .filter(n -> region.contains(n.getOutput(0))).map(this::projectionFrom).toList();
        Projection up;
        Projection gate = null;
        if (projections.size() == 1) {
            up = projections.get(0);
        } else if (projections.size() == 2) {
            // SwiGLU: activation = act(gate) * up, so up feeds the node producing the activation directly.
            Projection a = projections.get(0);
            Projection b = projections.get(1);
            boolean aDirect = graph.consumers(a.output()).stream().anyMatch(n -> n.getOutputList().contains(activation));
            up = aDirect ? a : b;
            gate = aDirect ? b : a;
        } else {
            throw new StructurePatternException("an up projection (and optional gate) reading the MLP input",
                    where + ", tensor " + input, "found " + projections.size());
        }
        Set<String> ops = new HashSet<>();
        nodesIn(region).forEach(n -> ops.add(n.getOpType()));
        String kind = ops.contains("Erf") ? "gelu" : ops.contains("Tanh") ? "gelu_tanh"
                : ops.contains("Gelu") ? "gelu" : ops.contains("Sigmoid") ? (gate != null ? "swiglu" : "silu")
                : ops.contains("Relu") ? "relu" : "unknown";
        if (up.outFeatures() != down.inFeatures() || gate != null && gate.outFeatures() != up.outFeatures()) {
            throw new StructurePatternException("matching MLP widths", where + ", " + up.weight() + " / " + down.weight(),
                    up.outFeatures() + " vs " + down.inFeatures());
        }
        return new MlpBlock(input, up, gate, down, activation, kind, residual);
    }

    // ---- shape constants ----

    private void collectBranchConstants(String branch, Set<String> region, Set<String> stop, boolean isQuery,
                                        List<ShapeConstant> constants) {
        Set<String> reach = forward(branch, region, stop);
        for (NodeProto node : nodesIn(reach)) {
            boolean reshape = node.getOpType().equals("Reshape");
            boolean expand = node.getOpType().equals("Expand");
            if (!reshape && !expand) {
                continue;
            }
            List<Element> shape = resolveShape(node);
            if (shape == null) {
                continue;
            }
            boolean afterExpand = !isQuery && ancestorsWithin(node.getInput(0), reach).stream()
                    .map(graph::producer).flatMap(Optional::stream).anyMatch(n -> n.getOpType().equals("Expand"));
            if (expand && shape.size() == 5) {
                add(constants, shape.get(1), Role.KV_HEADS);
                add(constants, shape.get(2), Role.GROUP_SIZE);
                add(constants, shape.get(4), Role.HEAD_DIM);
            } else if (reshape && shape.size() == 4 && afterExpand) {
                add(constants, shape.get(1), Role.HEADS);
                add(constants, shape.get(3), Role.HEAD_DIM);
            } else if (reshape && shape.size() == 4) {
                add(constants, shape.get(2), isQuery ? Role.HEADS : Role.KV_HEADS);
                add(constants, shape.get(3), Role.HEAD_DIM);
            }
        }
    }

    private void collectContextConstants(String context, NodeProto contextMatMul, Set<String> region,
                                         List<ShapeConstant> constants) {
        Set<String> between = forward(contextMatMul.getOutput(0), region, Set.of(context));
        between.add(context);
        for (NodeProto node : nodesIn(between)) {
            if (node.getOpType().equals("Reshape")) {
                List<Element> shape = resolveShape(node);
                if (shape != null && shape.size() == 3) {
                    add(constants, shape.get(2), Role.ATTENTION_WIDTH);
                }
            }
        }
    }

    /** One element of a shape operand: where it comes from if constant, who reads it, and its value. */
    private record Element(String tensor, int index, long value, String reader) {
    }

    /** The elements of a Reshape/Expand shape (a constant, or a Concat of constants and dynamic parts), or null. */
    private List<Element> resolveShape(NodeProto node) {
        String tensor = node.getInput(1);
        Optional<TensorProto> constant = graph.constantValue(tensor);
        if (constant.isPresent()) {
            long[] values = TensorData.longs(constant.get());
            List<Element> elements = new ArrayList<>();
            for (int i = 0; i < values.length; i++) {
                elements.add(new Element(tensor, i, values[i], node.getOutput(0)));
            }
            return elements;
        }
        Optional<NodeProto> producer = graph.producer(tensor);
        if (producer.isEmpty() || !producer.get().getOpType().equals("Concat")) {
            return null;
        }
        List<Element> elements = new ArrayList<>();
        for (String part : producer.get().getInputList()) {
            Optional<TensorProto> value = graph.constantValue(part);
            if (value.isPresent()) {
                long[] values = TensorData.longs(value.get());
                for (int i = 0; i < values.length; i++) {
                    elements.add(new Element(part, i, values[i], producer.get().getOutput(0)));
                }
            } else {
                elements.add(new Element(null, 0, 0, null));
            }
        }
        return elements;
    }

    private static void add(List<ShapeConstant> constants, Element element, Role role) {
        if (element.tensor() != null && element.value() > 0) {
            ShapeConstant constant = new ShapeConstant(element.tensor(), element.index(), role, element.value(),
                    element.reader());
            if (!constants.contains(constant)) {
                constants.add(constant);
            }
        }
    }

    private long element(String tensor, int index) {
        return TensorData.longs(graph.constantValue(tensor).orElseThrow())[index];
    }

    private static long element(Projection packed, List<ShapeConstant> constants, Role role) {
        return constants.stream().filter(c -> c.role() == role).findFirst().orElseThrow().value();
    }

    private static long agreed(List<ShapeConstant> constants, Role role, String where) {
        Set<Long> values = new HashSet<>();
        constants.stream().filter(c -> c.role() == role).forEach(c -> values.add(c.value()));
        if (values.size() > 1) {
            throw new StructurePatternException("one value for every " + role + " constant", where, "found " + values);
        }
        return values.isEmpty() ? -1 : values.iterator().next();
    }

    private static void checkConstants(List<ShapeConstant> constants, long heads, long kvHeads, long headDim,
                                       String where) {
        for (ShapeConstant c : constants) {
            long expected = switch (c.role()) {
                case HEADS -> heads;
                case KV_HEADS -> kvHeads;
                case GROUP_SIZE -> heads / kvHeads;
                case HEAD_DIM -> headDim;
                case ATTENTION_WIDTH -> heads * headDim;
                case KV_WIDTH -> kvHeads * headDim;
            };
            if (c.value() != expected) {
                throw new StructurePatternException("shape constants consistent with the projection widths",
                        where + ", constant " + c.tensor() + "[" + c.index() + "]",
                        c.role() + " is " + c.value() + ", projections imply " + expected);
            }
        }
    }

    /** past key, past value, present key, present value of a decoder layer with a KV cache (else nulls). */
    private String[] cacheTensors(String keyBranch, String valueBranch, Set<String> region, Set<String> stop) {
        String[] result = new String[4];
        String[] branches = {keyBranch, valueBranch};
        for (int i = 0; i < 2; i++) {
            for (NodeProto node : nodesIn(forward(branches[i], region, stop))) {
                if (node.getOpType().equals("Concat")) {
                    for (String input : node.getInputList()) {
                        if (graph.isGraphInput(input)) {
                            result[i] = input;
                        }
                    }
                }
                for (String output : node.getOutputList()) {
                    if (graph.isGraphOutput(output)) {
                        result[2 + i] = output;
                    }
                }
            }
        }
        return result;
    }

    // ---- graph queries ----

    private boolean isWeightedMatMul(NodeProto node) {
        return node.getOpType().equals("MatMul") && node.getInputCount() == 2
                && graph.initializer(node.getInput(1)).map(t -> t.getDimsCount() == 2).orElse(false);
    }

    private List<NodeProto> weightedMatMulConsumers(String tensor) {
        return graph.consumers(tensor).stream()
                .filter(n -> isWeightedMatMul(n) && n.getInput(0).equals(tensor)).toList();
    }

    private Projection projectionFrom(NodeProto matMul) {
        TensorProto weight = graph.initializer(matMul.getInput(1)).orElseThrow();
        String out = matMul.getOutput(0);
        String bias = null;
        List<NodeProto> consumers = graph.consumers(out);
        if (consumers.size() == 1 && consumers.get(0).getOpType().equals("Add") && !graph.isGraphOutput(out)) {
            String other = NormMatcher.other(consumers.get(0), out);
            if (graph.initializer(other).map(t -> t.getDimsCount() == 1).orElse(false)) {
                bias = other;
                out = consumers.get(0).getOutput(0);
            }
        }
        return new Projection(matMul.getInput(0), matMul.getOutput(0), matMul.getInput(1), bias, out,
                (int) weight.getDims(0), (int) weight.getDims(1));
    }

    private Optional<Projection> projectionProducing(String tensor) {
        Optional<NodeProto> node = graph.producer(tensor);
        if (node.isEmpty()) {
            return Optional.empty();
        }
        NodeProto matMul = node.get();
        if (matMul.getOpType().equals("Add")) {
            String a = matMul.getInput(0);
            String b = matMul.getInput(1);
            String activation = graph.initializer(a).isPresent() ? b : graph.initializer(b).isPresent() ? a : null;
            if (activation == null) {
                return Optional.empty();
            }
            matMul = graph.producer(activation).orElse(null);
        }
        if (matMul == null || !isWeightedMatMul(matMul)) {
            return Optional.empty();
        }
        Projection projection = projectionFrom(matMul);
        return projection.output().equals(tensor) ? Optional.of(projection) : Optional.empty();
    }

    /**
     * A per-channel affine correction where removed sub-blocks were ({@code Add(Mul(stream, scale), shift)} with
     * constant [hidden] scale and shift): the stream continues at the Add's output.
     */
    private Optional<String> afterChannelAffine(String stream, int hidden) {
        for (NodeProto mul : graph.consumers(stream)) {
            if (!mul.getOpType().equals("Mul") || !isChannelVector(NormMatcher.other(mul, stream), hidden)) {
                continue;
            }
            List<NodeProto> next = graph.consumers(mul.getOutput(0));
            if (next.size() == 1 && next.get(0).getOpType().equals("Add")
                    && isChannelVector(NormMatcher.other(next.get(0), mul.getOutput(0)), hidden)) {
                return Optional.of(next.get(0).getOutput(0));
            }
        }
        return Optional.empty();
    }

    private boolean isChannelVector(String tensor, int hidden) {
        return graph.constantValue(tensor).map(t -> t.getDimsCount() == 1 && t.getDims(0) == hidden).orElse(false);
    }

    /** The Add consuming {@code stream} whose other operand is computed (not a constant): a residual join. */
    private Optional<NodeProto> residualAdd(String stream) {
        return graph.consumers(stream).stream()
                .filter(n -> n.getOpType().equals("Add") && n.getInputCount() == 2)
                .filter(n -> !graph.isConstant(NormMatcher.other(n, stream)) && !NormMatcher.other(n, stream).equals(stream))
                .filter(n -> !graph.isGraphInput(NormMatcher.other(n, stream)))
                .findFirst();
    }

    private Optional<String> normInputFor(String normOutput) {
        Deque<String> work = new ArrayDeque<>(List.of(normOutput));
        Set<String> seen = new HashSet<>();
        while (!work.isEmpty() && seen.size() < 64) {
            String tensor = work.pop();
            if (!seen.add(tensor)) {
                continue;
            }
            if (!tensor.equals(normOutput) && NormMatcher.match(graph, tensor)
                    .map(n -> n.output().equals(normOutput)).orElse(false)) {
                return Optional.of(tensor);
            }
            graph.producer(tensor).ifPresent(p -> p.getInputList().stream()
                    .filter(i -> !graph.isConstant(i)).forEach(work::add));
        }
        return Optional.empty();
    }

    /** Tensors computed between {@code from} and {@code to}: ancestors of {@code to} that stop at {@code from}. */
    private Set<String> region(String from, String to) {
        Set<String> region = new LinkedHashSet<>();
        Deque<String> work = new ArrayDeque<>(List.of(to));
        while (!work.isEmpty()) {
            String tensor = work.pop();
            if (tensor.equals(from) || !region.add(tensor)) {
                continue;
            }
            graph.producer(tensor).ifPresent(p -> work.addAll(p.getInputList()));
        }
        return region;
    }

    /** Tensors of {@code region} reachable forward from {@code start}, not passing beyond {@code stop}. */
    private Set<String> forward(String start, Set<String> region, Set<String> stop) {
        Set<String> reach = new LinkedHashSet<>();
        Deque<String> work = new ArrayDeque<>(List.of(start));
        while (!work.isEmpty()) {
            String tensor = work.pop();
            if (!reach.add(tensor) || stop.contains(tensor)) {
                continue;
            }
            for (NodeProto consumer : graph.consumers(tensor)) {
                for (String output : consumer.getOutputList()) {
                    if (region.contains(output) || stop.contains(output)) {
                        work.add(output);
                    }
                }
            }
        }
        return reach;
    }

    private Set<String> ancestorsWithin(String tensor, Set<String> within) {
        Set<String> result = new HashSet<>();
        Deque<String> work = new ArrayDeque<>(List.of(tensor));
        while (!work.isEmpty()) {
            String t = work.pop();
            if (!within.contains(t) || !result.add(t)) {
                continue;
            }
            graph.producer(t).ifPresent(p -> work.addAll(p.getInputList()));
        }
        return result;
    }

    private Optional<NodeProto> firstForward(String start, Set<String> region, String opType) {
        Deque<String> work = new ArrayDeque<>(List.of(start));
        Set<String> seen = new HashSet<>();
        while (!work.isEmpty()) {
            String tensor = work.removeFirst();
            if (!seen.add(tensor)) {
                continue;
            }
            for (NodeProto consumer : graph.consumers(tensor)) {
                if (!region.contains(consumer.getOutput(0))) {
                    continue;
                }
                if (consumer.getOpType().equals(opType)) {
                    return Optional.of(consumer);
                }
                work.addAll(consumer.getOutputList());
            }
        }
        return Optional.empty();
    }

    private Optional<NodeProto> firstBackward(String start, Set<String> region, String opType) {
        Deque<String> work = new ArrayDeque<>(List.of(start));
        Set<String> seen = new HashSet<>();
        while (!work.isEmpty()) {
            String tensor = work.removeFirst();
            if (!region.contains(tensor) || !seen.add(tensor)) {
                continue;
            }
            Optional<NodeProto> producer = graph.producer(tensor);
            if (producer.isEmpty()) {
                continue;
            }
            if (producer.get().getOpType().equals(opType)) {
                return producer;
            }
            producer.get().getInputList().forEach(work::addLast);
        }
        return Optional.empty();
    }

    private List<NodeProto> nodesIn(Set<String> tensors) {
        Set<NodeProto> nodes = new LinkedHashSet<>();
        for (String tensor : tensors) {
            graph.producer(tensor).ifPresent(nodes::add);
        }
        return new ArrayList<>(nodes);
    }

    private List<String> embeddings() {
        return graph.nodes().stream().filter(n -> n.getOpType().equals("Gather"))
                .map(n -> n.getInput(0)).filter(name -> graph.initializer(name).map(t -> t.getDimsCount() == 2)
                        .orElse(false)).distinct().toList();
    }
}
