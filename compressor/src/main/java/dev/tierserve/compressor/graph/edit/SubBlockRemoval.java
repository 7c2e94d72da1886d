package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.LayerOrigins;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Removes sub-blocks by rewiring the residual stream around them. In a post-norm layer the removed block's
 * residual Add and LayerNorm go too ({@code h = N1(x + Attn(x))} becomes {@code h = x}); in a pre-norm layer
 * the stream simply skips the block. A decoder loses the removed attention's KV-cache inputs and outputs.
 * <p>
 * Every removal is one rewiring per {@link Span}: a maximal run of consecutive removed (or already absent)
 * sub-blocks, whose readers of the stream after the run read the stream before it instead, optionally through
 * a {@link ChannelAffine} correction that then produces the stream tensor after the run under its own name. The
 * model records which original layers and sub-blocks remain ({@link LayerOrigins}).
 */
public final class SubBlockRemoval {

    private SubBlockRemoval() {
    }

    /**
     * Consecutive removed sub-blocks, by the stream tensors around them.
     *
     * @param source the residual stream entering the first removed block
     * @param target the residual stream leaving the last one (its readers are rewired)
     */
    public record Span(List<SubBlock> blocks, String source, String target) {
    }

    public static ModelProto dropAttention(ModelProto model, StructureMap map, int layerIndex) {
        if (map.layer(layerIndex).attention() == null) {
            throw new IllegalArgumentException("layer " + layerIndex + " has no attention sub-block left");
        }
        return drop(model, map, Set.of(SubBlock.attention(layerIndex)));
    }

    public static ModelProto dropMlp(ModelProto model, StructureMap map, int layerIndex) {
        if (map.layer(layerIndex).mlp() == null) {
            throw new IllegalArgumentException("layer " + layerIndex + " has no MLP sub-block left");
        }
        return drop(model, map, Set.of(SubBlock.mlp(layerIndex)));
    }

    public static ModelProto dropLayer(ModelProto model, StructureMap map, int layerIndex) {
        map.layer(layerIndex);
        return drop(model, map, Set.of(SubBlock.attention(layerIndex), SubBlock.mlp(layerIndex)));
    }

    /** Removes the last {@code count} layers in one rewiring (all of them leaves the embeddings alone). */
    public static ModelProto dropLastLayers(ModelProto model, int count) {
        if (count == 0) {
            return model;
        }
        StructureMap map = StructureDetector.detect(model);
        if (count < 0 || count > map.layerCount()) {
            throw new IllegalArgumentException("cannot drop " + count + " of " + map.layerCount() + " layers");
        }
        Set<SubBlock> blocks = new TreeSet<>();
        IntStream.range(map.layerCount() - count, map.layerCount()).forEach(l -> {
            blocks.add(SubBlock.attention(l));
            blocks.add(SubBlock.mlp(l));
        });
        return drop(model, map, blocks);
    }

    /** Removes any set of sub-blocks, one rewiring per span; layer indices refer to {@code map}. */
    public static ModelProto drop(ModelProto model, StructureMap map, Set<SubBlock> blocks) {
        return drop(model, map, blocks, Map.of());
    }

    /**
     * Removes the sub-blocks; a span whose {@link Span#target()} has a correction is replaced by that
     * per-channel affine map of its source instead of by the source itself.
     */
    public static ModelProto drop(ModelProto model, StructureMap map, Set<SubBlock> blocks,
                                  Map<String, ChannelAffine> corrections) {
        MutableGraph graph = new MutableGraph(model);
        for (Span span : spans(map, blocks)) {
            for (SubBlock block : span.blocks()) {
                TransformerLayer layer = map.layer(block.layer());
                if (block.kind() == SubBlock.Kind.ATTENTION && layer.attention() != null) {
                    removeCache(graph, layer.attention());
                }
            }
            ChannelAffine correction = corrections.get(span.target());
            if (correction == null) {
                graph.redirect(span.target(), span.source());
            } else {
                // The correction produces the span's target tensor itself: its readers need no rewiring.
                graph.detachProducer(span.target());
                affine(graph, span, correction);
            }
        }
        graph.removeDeadNodes();
        List<LayerOrigins.Entry> kept = new ArrayList<>();
        for (TransformerLayer layer : map.layers()) {
            boolean attention = layer.attention() != null && !blocks.contains(SubBlock.attention(layer.index()));
            boolean mlp = layer.mlp() != null && !blocks.contains(SubBlock.mlp(layer.index()));
            if (attention || mlp) {
                kept.add(new LayerOrigins.Entry(layer.origin(), attention, mlp));
            }
        }
        // Recorded so that a layer left without its MLP, followed by one left without its attention, is not read
        // back as one layer.
        return LayerOrigins.write(graph.toModel(), kept);
    }

    /**
     * The spans that removing {@code blocks} rewires, in stream order. Sub-blocks a previous edit already
     * removed join the span they touch.
     */
    public static List<Span> spans(StructureMap map, Set<SubBlock> blocks) {
        for (SubBlock block : blocks) {
            TransformerLayer layer = map.layer(block.layer());
            if ((block.kind() == SubBlock.Kind.ATTENTION ? layer.attention() : layer.mlp()) == null) {
                throw new IllegalArgumentException(block.label() + " is not in the model any more");
            }
        }
        List<Span> spans = new ArrayList<>();
        List<SubBlock> run = new ArrayList<>();
        String source = null;
        String target = null;
        boolean requested = false;
        for (TransformerLayer layer : map.layers()) {
            for (SubBlock.Kind kind : SubBlock.Kind.values()) {
                SubBlock block = new SubBlock(layer.index(), kind);
                boolean attention = kind == SubBlock.Kind.ATTENTION;
                boolean absent = (attention ? layer.attention() : layer.mlp()) == null;
                if (!blocks.contains(block) && !absent) {
                    if (requested) {
                        spans.add(new Span(List.copyOf(run), source, target));
                    }
                    run.clear();
                    requested = false;
                    continue;
                }
                if (run.isEmpty()) {
                    source = attention ? layer.input() : layer.afterAttention();
                }
                run.add(block);
                target = attention ? layer.afterAttention() : layer.output();
                requested |= blocks.contains(block);
            }
        }
        if (requested) {
            spans.add(new Span(List.copyOf(run), source, target));
        }
        return spans;
    }

    private static void affine(MutableGraph graph, Span span, ChannelAffine correction) {
        String base = "/removed/" + span.blocks().get(0).label() + "-" + span.blocks().get(span.blocks().size() - 1).label();
        String scale = graph.addInitializer(base + "/scale", TensorData.fromVector("", correction.scale()));
        String shift = graph.addInitializer(base + "/shift", TensorData.fromVector("", correction.shift()));
        String scaled = graph.addNode("Mul", base + "/Mul", List.of(span.source(), scale));
        graph.addNode(NodeProto.newBuilder().setOpType("Add").setName(graph.uniqueName(base + "/Add"))
                .addInput(scaled).addInput(shift).addOutput(span.target()).build());
    }

    /** Takes a layer's past/present key and value out of the model's inputs and outputs. */
    static void removeCache(MutableGraph graph, AttentionBlock attention) {
        if (!attention.hasCache()) {
            return;
        }
        graph.removeInput(attention.pastKey());
        graph.removeInput(attention.pastValue());
        graph.removeOutput(attention.presentKey());
        graph.removeOutput(attention.presentValue());
    }
}
