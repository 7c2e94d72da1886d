package dev.tierserve.compressor.graph.search;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.search.SearchGraph.Probe;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.MlpBlock;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites a model into a {@link SearchGraph}. Semantics, chosen so that masking equals physical removal:
 * <ul>
 *   <li>head mask: the context of head h is multiplied by m[h] before the output projection, so m[h] = 0 is
 *       exactly that head's rows of the output projection removed;</li>
 *   <li>channel mask: the MLP activation is multiplied by m[c] before the down projection;</li>
 *   <li>gate g of a sub-block: pre-norm {@code x + g·Block(N(x))}; post-norm {@code g·N(x + Block(x)) + (1-g)·x},
 *       so g = 0 also skips the post-norm Add+LayerNorm, as physical removal does, and g = 1 is the model
 *       unchanged.</li>
 * </ul>
 */
public final class SearchGraphBuilder {

    private final ModelProto model;
    private final StructureMap map;
    private boolean headMasks;
    private boolean channelMasks;
    private boolean gates;
    private final Set<Probe.Kind> probeKinds = EnumSet.noneOf(Probe.Kind.class);
    private final Set<Probe.Kind> gramKinds = EnumSet.noneOf(Probe.Kind.class);
    private String tokenMask;
    private final List<String> overridable = new ArrayList<>();

    private SearchGraphBuilder(ModelProto model, StructureMap map) {
        this.model = model;
        this.map = map;
    }

    public static SearchGraphBuilder of(ModelProto model, StructureMap map) {
        return new SearchGraphBuilder(model, map);
    }

    public SearchGraphBuilder headMasks() {
        this.headMasks = true;
        return this;
    }

    public SearchGraphBuilder channelMasks() {
        this.channelMasks = true;
        return this;
    }

    public SearchGraphBuilder subBlockGates() {
        this.gates = true;
        return this;
    }

    /** Exposes this activation of every layer that has the sub-block. */
    public SearchGraphBuilder probe(Probe.Kind... kinds) {
        probeKinds.addAll(Arrays.asList(kinds));
        return this;
    }

    /**
     * Adds, for every layer, an output {@link SearchGraph#gramName} = Σ x xᵀ of this activation over the
     * batch's unpadded tokens, computed in double by ONNX Runtime (Hessians without copying activations out).
     */
    public SearchGraphBuilder gram(Probe.Kind... kinds) {
        gramKinds.addAll(Arrays.asList(kinds));
        return this;
    }

    /** Makes these initializers graph inputs (their stored value stays the default). */
    public SearchGraphBuilder overridableWeights(String... initializers) {
        overridable.addAll(Arrays.asList(initializers));
        return this;
    }

    public SearchGraph build() {
        MutableGraph graph = new MutableGraph(model);
        Map<Integer, String> headMaskInputs = new LinkedHashMap<>();
        Map<Integer, String> channelMaskInputs = new LinkedHashMap<>();
        Map<Integer, String> attentionGates = new LinkedHashMap<>();
        Map<Integer, String> mlpGates = new LinkedHashMap<>();
        Map<String, Probe> probes = new LinkedHashMap<>();
        Map<String, String> alias = new HashMap<>();
        Map<String, TensorProto> defaults = new LinkedHashMap<>();

        for (TransformerLayer layer : map.layers()) {
            int index = layer.index();
            AttentionBlock attention = layer.attention();
            MlpBlock mlp = layer.mlp();
            if (attention != null) {
                String context = attention.output().input();
                if (headMasks) {
                    String mask = maskInput(graph, "mask.heads." + index, attention.heads(), defaults);
                    context = applyHeadMask(graph, attention, mask);
                    headMaskInputs.put(index, mask);
                }
                probe(graph, probes, index, Probe.Kind.ATTENTION_INPUT, resolve(alias, attention.input()));
                probe(graph, probes, index, Probe.Kind.ATTENTION_CONTEXT, context);
                probe(graph, probes, index, Probe.Kind.ATTENTION_OUTPUT, attention.output().output());
                if (gates) {
                    String gate = maskInput(graph, "gate.attention." + index, 1, defaults);
                    gate(graph, resolve(alias, layer.input()), layer.afterAttention(), attention.output().output(),
                            attention.residualAdd(), gate, alias);
                    attentionGates.put(index, gate);
                }
            }
            if (mlp != null) {
                String activation = mlp.activation();
                if (channelMasks) {
                    String mask = maskInput(graph, "mask.channels." + index, mlp.intermediateSize(), defaults);
                    activation = multiplyInto(graph, activation, mask, mlp.down().matMul());
                    channelMaskInputs.put(index, mask);
                }
                probe(graph, probes, index, Probe.Kind.MLP_INPUT, resolve(alias, mlp.input()));
                probe(graph, probes, index, Probe.Kind.MLP_ACTIVATION, activation);
                probe(graph, probes, index, Probe.Kind.MLP_OUTPUT, mlp.down().output());
                if (gates) {
                    String gate = maskInput(graph, "gate.mlp." + index, 1, defaults);
                    gate(graph, resolve(alias, layer.afterAttention()), layer.output(), mlp.down().output(),
                            mlp.residualAdd(), gate, alias);
                    mlpGates.put(index, gate);
                }
            }
        }
        for (String name : overridable) {
            TensorProto weight = graph.initializer(name)
                    .orElseThrow(() -> new IllegalArgumentException("no initializer " + name));
            graph.removeInitializer(name);
            graph.addInput(MutableGraph.valueInfo(name, weight.getDataType(),
                    new ArrayList<>(weight.getDimsList())));
            defaults.put(name, weight);
        }
        return new SearchGraph(graph.toModel(), headMaskInputs, channelMaskInputs, attentionGates, mlpGates, probes,
                defaults);
    }

    private void probe(MutableGraph graph, Map<String, Probe> probes, int layer, Probe.Kind kind, String tensor) {
        if (gramKinds.contains(kind)) {
            addGram(graph, layer, kind, tensor);
        }
        if (!probeKinds.contains(kind)) {
            return;
        }
        String name = SearchGraph.probeName(layer, kind);
        graph.addNode(NodeProto.newBuilder().setOpType("Identity").setName(graph.uniqueName(name + "/Identity"))
                .addInput(tensor).addOutput(name).build());
        graph.addOutput(MutableGraph.untypedShapeOutput(name, TensorProto.DataType.FLOAT_VALUE));
        probes.put(name, new Probe(layer, kind));
    }

    private void addGram(MutableGraph graph, int layer, Probe.Kind kind, String tensor) {
        String name = SearchGraph.gramName(layer, kind);
        if (tokenMask == null) {
            // attention_mask [batch, sequence] → bool [batch · sequence], to keep only unpadded rows
            String flat = graph.addInitializer("/gram/flat", TensorData.longTensor("", new long[] {1}, new long[] {-1}));
            String mask = graph.addNode("Cast", "/gram/Cast", List.of("attention_mask"), castTo(TensorProto.DataType.BOOL_VALUE));
            tokenMask = graph.addNode("Reshape", "/gram/Reshape", List.of(mask, flat));
        }
        String wide = graph.addNode("Cast", name + "/Cast", List.of(tensor), castTo(TensorProto.DataType.DOUBLE_VALUE));
        String rowsShape = graph.addInitializer(name + "/rows_shape", TensorData.longTensor("", new long[] {2},
                new long[] {-1, width(layer, kind)}));
        String allRows = graph.addNode("Reshape", name + "/Rows", List.of(wide, rowsShape));
        String rows = graph.addNode("Compress", name + "/Unpadded", List.of(allRows, tokenMask),
                AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(0).build());
        String transposed = graph.addNode("Transpose", name + "/Transpose", List.of(rows),
                AttributeProto.newBuilder().setName("perm").setType(AttributeProto.AttributeType.INTS)
                        .addInts(1).addInts(0).build());
        graph.addNode(NodeProto.newBuilder().setOpType("MatMul").setName(graph.uniqueName(name + "/MatMul"))
                .addInput(transposed).addInput(rows).addOutput(name).build());
        graph.addOutput(MutableGraph.untypedShapeOutput(name, TensorProto.DataType.DOUBLE_VALUE));
    }

    private int width(int layer, Probe.Kind kind) {
        TransformerLayer l = map.layer(layer);
        return switch (kind) {
            case ATTENTION_CONTEXT -> l.attention().output().inFeatures();
            case MLP_ACTIVATION -> l.mlp().down().inFeatures();
            case ATTENTION_INPUT, ATTENTION_OUTPUT, MLP_INPUT, MLP_OUTPUT -> map.hiddenSize();
        };
    }

    private static AttributeProto castTo(int type) {
        return AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT).setI(type).build();
    }

    /** A float [size] input whose default is all ones. */
    private static String maskInput(MutableGraph graph, String name, int size, Map<String, TensorProto> defaults) {
        float[] ones = new float[size];
        Arrays.fill(ones, 1f);
        graph.addInput(MutableGraph.floatValueInfo(name, List.of(size)));
        defaults.put(name, TensorData.floatTensor(name, new long[] {size}, ones));
        return name;
    }

    /** context · (mask expanded to head_dim columns per head), read by the output projection. */
    private static String applyHeadMask(MutableGraph graph, AttentionBlock attention, String mask) {
        int heads = attention.heads();
        int dim = attention.headDim();
        float[] expansion = new float[heads * heads * dim];
        for (int h = 0; h < heads; h++) {
            for (int d = 0; d < dim; d++) {
                expansion[h * heads * dim + h * dim + d] = 1f;
            }
        }
        String expander = graph.addInitializer(mask + ".expand",
                TensorData.floatTensor("", new long[] {heads, (long) heads * dim}, expansion));
        String perColumn = graph.addNode("MatMul", mask + "/Expand", List.of(mask, expander));
        return multiplyInto(graph, attention.output().input(), perColumn, attention.output().matMul());
    }

    /** Multiplies {@code tensor} by {@code factor} for the node producing {@code readerOutput} only. */
    private static String multiplyInto(MutableGraph graph, String tensor, String factor, String readerOutput) {
        String product = graph.addNode("Mul", factor + "/Apply", List.of(tensor, factor));
        graph.rewireInput(graph.requireProducer(readerOutput), tensor, product);
        return product;
    }

    private void gate(MutableGraph graph, String skip, String blockResult, String blockOutput, String residualSum,
                      String gate, Map<String, String> alias) {
        if (map.layout() == StructureMap.Layout.PRE_NORM) {
            // x + g·Block(x): scale the block's output where the residual Add reads it.
            String scaled = graph.addNode("Mul", gate + "/Scale", List.of(blockOutput, gate));
            graph.rewireInput(graph.requireProducer(residualSum), blockOutput, scaled);
            return;
        }
        // g·N(x + Block(x)) + (1 - g)·x
        String one = graph.addInitializer(gate + ".one", TensorData.floatTensor("", new long[] {1}, new float[] {1f}));
        String keep = graph.addNode("Mul", gate + "/Keep", List.of(blockResult, gate));
        String complement = graph.addNode("Sub", gate + "/Complement", List.of(one, gate));
        String skipped = graph.addNode("Mul", gate + "/Skip", List.of(skip, complement));
        String gatedName = graph.uniqueName(gate + "_output");
        NodeProto join = NodeProto.newBuilder().setOpType("Add").setName(graph.uniqueName(gate + "/Join"))
                .addInput(keep).addInput(skipped).addOutput(gatedName).build();
        graph.redirect(blockResult, gatedName, n -> !n.getOutputList().contains(keep));
        graph.addNode(join);
        alias.put(blockResult, graph.isGraphOutput(blockResult) ? blockResult : gatedName);
    }

    private static String resolve(Map<String, String> alias, String tensor) {
        return alias.getOrDefault(tensor, tensor);
    }
}
