package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;

/**
 * Removes sub-blocks by rewiring the residual stream around them. In a post-norm layer the removed block's
 * residual Add and LayerNorm go too ({@code h = N1(x + Attn(x))} becomes {@code h = x}); in a pre-norm layer
 * the stream simply skips the block. A decoder loses the removed attention's KV-cache inputs and outputs.
 */
public final class SubBlockRemoval {

    private SubBlockRemoval() {
    }

    public static ModelProto dropAttention(ModelProto model, StructureMap map, int layerIndex) {
        TransformerLayer layer = map.layer(layerIndex);
        if (layer.attention() == null) {
            throw new IllegalArgumentException("layer " + layerIndex + " has no attention sub-block left");
        }
        MutableGraph graph = new MutableGraph(model);
        removeCache(graph, layer.attention());
        graph.redirect(layer.afterAttention(), layer.input());
        graph.removeDeadNodes();
        return graph.toModel();
    }

    public static ModelProto dropMlp(ModelProto model, StructureMap map, int layerIndex) {
        TransformerLayer layer = map.layer(layerIndex);
        if (layer.mlp() == null) {
            throw new IllegalArgumentException("layer " + layerIndex + " has no MLP sub-block left");
        }
        MutableGraph graph = new MutableGraph(model);
        graph.redirect(layer.output(), layer.afterAttention());
        graph.removeDeadNodes();
        return graph.toModel();
    }

    public static ModelProto dropLayer(ModelProto model, StructureMap map, int layerIndex) {
        TransformerLayer layer = map.layer(layerIndex);
        MutableGraph graph = new MutableGraph(model);
        if (layer.attention() != null) {
            removeCache(graph, layer.attention());
        }
        graph.redirect(layer.output(), layer.input());
        graph.removeDeadNodes();
        return graph.toModel();
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
        MutableGraph graph = new MutableGraph(model);
        int first = map.layerCount() - count;
        for (TransformerLayer layer : map.layers().subList(first, map.layerCount())) {
            if (layer.attention() != null) {
                removeCache(graph, layer.attention());
            }
        }
        graph.redirect(map.layer(map.layerCount() - 1).output(), map.layer(first).input());
        graph.removeDeadNodes();
        return graph.toModel();
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
