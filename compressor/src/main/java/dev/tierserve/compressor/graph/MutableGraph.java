package dev.tierserve.compressor.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * An editable view of an ONNX graph: nodes, initializers, inputs and outputs, with producer/consumer
 * lookups. Edits replace immutable {@link NodeProto}s; {@link #toModel()} sorts the nodes topologically,
 * removes nothing by itself (call {@link #removeDeadNodes()}) and drops stale value_info, since edited
 * shapes are re-inferred by ONNX Runtime.
 */
public final class MutableGraph {

    private final ModelProto source;
    private final List<NodeProto> nodes;
    private final LinkedHashMap<String, TensorProto> initializers = new LinkedHashMap<>();
    private final List<ValueInfoProto> inputs;
    private final List<ValueInfoProto> outputs;
    private final Set<String> usedNames = new HashSet<>();
    private Map<String, NodeProto> producers;
    private Map<String, List<NodeProto>> consumers;

    public MutableGraph(ModelProto model) {
        this.source = model;
        GraphProto graph = model.getGraph();
        this.nodes = new ArrayList<>(graph.getNodeList());
        graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
        this.inputs = new ArrayList<>(graph.getInputList());
        this.outputs = new ArrayList<>(graph.getOutputList());
        nodes.forEach(n -> {
            usedNames.add(n.getName());
            usedNames.addAll(n.getOutputList());
        });
        usedNames.addAll(initializers.keySet());
        inputs.forEach(i -> usedNames.add(i.getName()));
    }

    public List<NodeProto> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    public List<ValueInfoProto> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    public List<ValueInfoProto> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    public int opsetVersion() {
        return source.getOpsetImportList().stream()
                .filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                .mapToInt(o -> (int) o.getVersion()).findFirst().orElse(1);
    }

    // ---- lookups ----

    /** The node producing {@code tensor}, or an exception naming the tensor. */
    public NodeProto requireProducer(String tensor) {
        return producer(tensor).orElseThrow(() -> new IllegalArgumentException("no node produces " + tensor));
    }

    public Optional<NodeProto> producer(String tensor) {
        return Optional.ofNullable(producers().get(tensor));
    }

    public List<NodeProto> consumers(String tensor) {
        return consumers().getOrDefault(tensor, List.of());
    }

    public boolean isGraphOutput(String tensor) {
        return outputs.stream().anyMatch(o -> o.getName().equals(tensor));
    }

    public boolean isGraphInput(String tensor) {
        return inputs.stream().anyMatch(i -> i.getName().equals(tensor)) && !initializers.containsKey(tensor);
    }

    public Optional<TensorProto> initializer(String name) {
        return Optional.ofNullable(initializers.get(name));
    }

    public Collection<TensorProto> initializers() {
        return Collections.unmodifiableCollection(initializers.values());
    }

    /** The value of an initializer or of a Constant node's {@code value} attribute, if the tensor is constant. */
    public Optional<TensorProto> constantValue(String tensor) {
        TensorProto init = initializers.get(tensor);
        if (init != null) {
            return Optional.of(init);
        }
        NodeProto node = producers().get(tensor);
        if (node != null && node.getOpType().equals("Constant")) {
            for (AttributeProto attribute : node.getAttributeList()) {
                if (attribute.getName().equals("value")) {
                    return Optional.of(attribute.getT());
                }
            }
        }
        return Optional.empty();
    }

    public boolean isConstant(String tensor) {
        return constantValue(tensor).isPresent();
    }

    // ---- edits ----

    /** A name not used by any node, tensor or initializer of this graph. */
    public String uniqueName(String base) {
        String name = base;
        for (int i = 1; usedNames.contains(name); i++) {
            name = base + "_" + i;
        }
        usedNames.add(name);
        return name;
    }

    public void removeInitializer(String name) {
        initializers.remove(name);
    }

    public void setInitializer(TensorProto tensor) {
        initializers.put(tensor.getName(), tensor);
        usedNames.add(tensor.getName());
    }

    public void addNode(NodeProto node) {
        nodes.add(node);
        usedNames.add(node.getName());
        usedNames.addAll(node.getOutputList());
        invalidate();
    }

    /** Adds a node named {@code base} (made unique) with one output named after it; returns the output. */
    public String addNode(String opType, String base, List<String> nodeInputs, AttributeProto... attributes) {
        String name = uniqueName(base);
        String output = uniqueName(name + "_output_0");
        addNode(NodeProto.newBuilder().setOpType(opType).setName(name).addAllInput(nodeInputs).addOutput(output)
                .addAllAttribute(List.of(attributes)).build());
        return output;
    }

    /** Adds an initializer with a unique name derived from {@code base}; returns its name. */
    public String addInitializer(String base, TensorProto value) {
        String name = uniqueName(base);
        setInitializer(value.toBuilder().setName(name).build());
        return name;
    }

    public void replaceNode(NodeProto old, NodeProto replacement) {
        int index = indexOf(old);
        nodes.set(index, replacement);
        usedNames.add(replacement.getName());
        usedNames.addAll(replacement.getOutputList());
        invalidate();
    }

    /** Rewires one input of {@code node} from {@code from} to {@code to}. */
    public NodeProto rewireInput(NodeProto node, String from, String to) {
        NodeProto.Builder builder = node.toBuilder();
        boolean found = false;
        for (int i = 0; i < builder.getInputCount(); i++) {
            if (builder.getInput(i).equals(from)) {
                builder.setInput(i, to);
                found = true;
            }
        }
        if (!found) {
            throw new IllegalArgumentException("node " + node.getName() + " does not read " + from);
        }
        NodeProto rewired = builder.build();
        replaceNode(node, rewired);
        return rewired;
    }

    /**
     * Makes every consumer of {@code from} accepted by {@code filter} read {@code to}. A graph output keeps
     * its name: its old producer's output is renamed (that node is normally dead now) and an Identity copies
     * {@code to} into it.
     */
    public void redirect(String from, String to, Predicate<NodeProto> filter) {
        for (NodeProto consumer : List.copyOf(consumers(from))) {
            if (filter.test(consumer)) {
                rewireInput(consumer, from, to);
            }
        }
        if (isGraphOutput(from)) {
            String renamed = detachProducer(from);
            for (NodeProto consumer : List.copyOf(consumers(from))) {
                rewireInput(consumer, from, renamed);
            }
            addNode(NodeProto.newBuilder().setOpType("Identity").setName(uniqueName(from + "/Identity"))
                    .addInput(to).addOutput(from).build());
        }
    }

    /**
     * Renames {@code tensor} at its producer so that a new node can produce a tensor of that name; consumers
     * still read {@code tensor}. Returns the producer's new output name (the old producer is normally dead).
     */
    public String detachProducer(String tensor) {
        String renamed = uniqueName(tensor + "_replaced");
        NodeProto producer = producers().get(tensor);
        if (producer != null) {
            NodeProto.Builder builder = producer.toBuilder();
            for (int i = 0; i < builder.getOutputCount(); i++) {
                if (builder.getOutput(i).equals(tensor)) {
                    builder.setOutput(i, renamed);
                }
            }
            replaceNode(producer, builder.build());
        }
        return renamed;
    }

    public void redirect(String from, String to) {
        redirect(from, to, n -> true);
    }

    public void setAttribute(NodeProto node, AttributeProto attribute) {
        NodeProto.Builder builder = node.toBuilder();
        for (int i = 0; i < builder.getAttributeCount(); i++) {
            if (builder.getAttribute(i).getName().equals(attribute.getName())) {
                builder.setAttribute(i, attribute);
                replaceNode(node, builder.build());
                return;
            }
        }
        replaceNode(node, builder.addAttribute(attribute).build());
    }

    public void addInput(ValueInfoProto input) {
        inputs.add(input);
        usedNames.add(input.getName());
    }

    /** Sets one dimension of a graph input's or output's declared shape (e.g. a cache's KV-head axis). */
    public void setDeclaredDim(String name, int axis, long value) {
        for (List<ValueInfoProto> list : List.of(inputs, outputs)) {
            for (int i = 0; i < list.size(); i++) {
                ValueInfoProto info = list.get(i);
                if (info.getName().equals(name)) {
                    ValueInfoProto.Builder builder = info.toBuilder();
                    builder.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(axis)
                            .clearDimParam().setDimValue(value);
                    list.set(i, builder.build());
                }
            }
        }
    }

    public void removeInput(String name) {
        inputs.removeIf(i -> i.getName().equals(name));
    }

    public void addOutput(ValueInfoProto output) {
        if (!isGraphOutput(output.getName())) {
            outputs.add(output);
        }
    }

    public void removeOutput(String name) {
        outputs.removeIf(o -> o.getName().equals(name));
    }

    /**
     * Removes every node that no graph output depends on, then initializers nothing reads. Graph inputs
     * are kept: removing a model input is an explicit decision ({@link #removeInput}).
     */
    public void removeDeadNodes() {
        Set<String> needed = new HashSet<>();
        Deque<String> work = new ArrayDeque<>();
        outputs.forEach(o -> work.add(o.getName()));
        Set<NodeProto> live = Collections.newSetFromMap(new IdentityHashMap<>());
        while (!work.isEmpty()) {
            String tensor = work.pop();
            if (!needed.add(tensor)) {
                continue;
            }
            NodeProto node = producers().get(tensor);
            if (node != null && live.add(node)) {
                for (String input : node.getInputList()) {
                    if (!input.isEmpty()) {
                        work.add(input);
                    }
                }
            }
        }
        nodes.removeIf(n -> !live.contains(n));
        initializers.keySet().removeIf(name -> !needed.contains(name));
        invalidate();
    }

    /** {@code model} with these intermediate float tensors also as graph outputs, e.g. to record them. */
    public static ModelProto withOutputs(ModelProto model, List<String> tensors) {
        MutableGraph graph = new MutableGraph(model);
        for (String tensor : tensors) {
            if (!graph.isGraphOutput(tensor)) {
                graph.addOutput(untypedShapeOutput(tensor, TensorProto.DataType.FLOAT_VALUE));
            }
        }
        return graph.toModel();
    }

    /** A graph input of a float tensor with the given (possibly symbolic) dimensions. */
    public static ValueInfoProto floatValueInfo(String name, List<Object> dims) {
        return valueInfo(name, TensorProto.DataType.FLOAT_VALUE, dims);
    }

    public static ValueInfoProto valueInfo(String name, int elemType, List<Object> dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object dim : dims) {
            if (dim instanceof Number n) {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(n.longValue()));
            } else {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(dim.toString()));
            }
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    /** An output whose element type is known and shape left for ONNX Runtime to infer. */
    public static ValueInfoProto untypedShapeOutput(String name, int elemType) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType))).build();
    }

    public ModelProto toModel() {
        GraphProto.Builder graph = source.getGraph().toBuilder()
                .clearNode().addAllNode(topologicalOrder())
                .clearInitializer().addAllInitializer(initializers.values())
                .clearInput().addAllInput(inputs)
                .clearOutput().addAllOutput(outputs)
                .clearValueInfo();
        return source.toBuilder().setGraph(graph).build();
    }

    // ---- internals ----

    /** Kahn's algorithm, ties broken by current position so an unedited graph keeps its order. */
    private List<NodeProto> topologicalOrder() {
        Map<String, Integer> producerIndex = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (String output : nodes.get(i).getOutputList()) {
                producerIndex.put(output, i);
            }
        }
        int[] pending = new int[nodes.size()];
        Map<Integer, List<Integer>> dependents = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            Set<Integer> deps = new HashSet<>();
            for (String input : nodes.get(i).getInputList()) {
                Integer producer = producerIndex.get(input);
                if (producer != null && producer != i) {
                    deps.add(producer);
                }
            }
            pending[i] = deps.size();
            for (int dep : deps) {
                dependents.computeIfAbsent(dep, k -> new ArrayList<>()).add(i);
            }
        }
        java.util.PriorityQueue<Integer> ready = new java.util.PriorityQueue<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (pending[i] == 0) {
                ready.add(i);
            }
        }
        List<NodeProto> order = new ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            int next = ready.poll();
            order.add(nodes.get(next));
            for (int dependent : dependents.getOrDefault(next, List.of())) {
                if (--pending[dependent] == 0) {
                    ready.add(dependent);
                }
            }
        }
        if (order.size() != nodes.size()) {
            throw new IllegalStateException("the edited graph has a cycle");
        }
        return order;
    }

    private int indexOf(NodeProto node) {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i) == node) {
                return i;
            }
        }
        throw new IllegalArgumentException("node " + node.getName() + " is not (or no longer) in the graph");
    }

    private void invalidate() {
        producers = null;
        consumers = null;
    }

    private Map<String, NodeProto> producers() {
        if (producers == null) {
            Map<String, NodeProto> map = new HashMap<>();
            for (NodeProto node : nodes) {
                node.getOutputList().forEach(o -> map.put(o, node));
            }
            producers = map;
        }
        return producers;
    }

    private Map<String, List<NodeProto>> consumers() {
        if (consumers == null) {
            Map<String, List<NodeProto>> map = new LinkedHashMap<>();
            for (NodeProto node : nodes) {
                for (String input : node.getInputList()) {
                    List<NodeProto> list = map.computeIfAbsent(input, k -> new ArrayList<>());
                    if (!list.contains(node)) {
                        list.add(node);
                    }
                }
            }
            consumers = map;
        }
        return consumers;
    }
}
