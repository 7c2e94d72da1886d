package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.StructureMap;

import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Physically removes attention heads: Q (and K, V) columns and biases, output-projection rows, and every
 * constant that encodes the head count or width. With grouped-query attention only whole KV groups can go
 * (a group = one KV head and the query heads that share it). Removing every head removes the sub-block.
 */
public final class HeadPruning {

    private HeadPruning() {
    }

    /** @param heads query-head indices (0-based, in the current layer) to remove */
    public static ModelProto pruneHeads(ModelProto model, StructureMap map, int layerIndex, Set<Integer> heads) {
        AttentionBlock attention = map.layer(layerIndex).attention();
        if (attention == null) {
            throw new IllegalArgumentException("layer " + layerIndex + " has no attention sub-block");
        }
        Set<Integer> removed = new TreeSet<>(heads);
        for (int head : removed) {
            if (head < 0 || head >= attention.heads()) {
                throw new IllegalArgumentException("layer " + layerIndex + " has heads 0.." + (attention.heads() - 1)
                        + ", not " + head);
            }
        }
        int group = attention.groupSize();
        Set<Integer> removedGroups = new TreeSet<>();
        for (int head : removed) {
            removedGroups.add(head / group);
        }
        for (int g : removedGroups) {
            for (int head = g * group; head < (g + 1) * group; head++) {
                if (!removed.contains(head)) {
                    throw new IllegalArgumentException("layer " + layerIndex + " uses grouped-query attention ("
                            + group + " query heads per KV head): prune whole groups; head " + head
                            + " shares KV head " + g + " with a removed head");
                }
            }
        }
        if (removed.size() == attention.heads()) {
            return SubBlockRemoval.dropAttention(model, map, layerIndex);
        }
        if (removed.isEmpty()) {
            return model;
        }
        int headDim = attention.headDim();
        int[] keptHeads = IntStream.range(0, attention.heads()).filter(h -> !removed.contains(h)).toArray();
        int[] keptGroups = IntStream.range(0, attention.kvHeads()).filter(g -> !removedGroups.contains(g)).toArray();
        int[] queryColumns = expand(keptHeads, headDim, 0);
        int[] kvColumns = expand(keptGroups, headDim, 0);

        MutableGraph graph = new MutableGraph(model);
        if (attention.isPacked()) {
            int queryWidth = attention.heads() * headDim;
            int kvWidth = attention.kvHeads() * headDim;
            int[] packed = IntStream.concat(IntStream.concat(Arrays.stream(queryColumns),
                            Arrays.stream(expand(keptGroups, headDim, queryWidth))),
                    Arrays.stream(expand(keptGroups, headDim, queryWidth + kvWidth))).toArray();
            WeightSlicing.keepColumns(graph, attention.packedQkv().weight(), packed);
            WeightSlicing.keepEntries(graph, attention.packedQkv().bias(), packed);
        } else {
            WeightSlicing.keepColumns(graph, attention.query().weight(), queryColumns);
            WeightSlicing.keepEntries(graph, attention.query().bias(), queryColumns);
            WeightSlicing.keepColumns(graph, attention.key().weight(), kvColumns);
            WeightSlicing.keepEntries(graph, attention.key().bias(), kvColumns);
            WeightSlicing.keepColumns(graph, attention.value().weight(), kvColumns);
            WeightSlicing.keepEntries(graph, attention.value().bias(), kvColumns);
        }
        WeightSlicing.keepRows(graph, attention.output().weight(), queryColumns);

        long newHeads = keptHeads.length;
        long newKvHeads = keptGroups.length;
        ShapeConstantRewriter.rewrite(graph, attention.shapeConstants(), c -> switch (c.role()) {
            case HEADS -> newHeads;
            case KV_HEADS -> newKvHeads;
            case GROUP_SIZE, HEAD_DIM -> c.value();
            case ATTENTION_WIDTH -> newHeads * headDim;
            case KV_WIDTH -> newKvHeads * headDim;
        });
        if (attention.hasCache()) {
            // The cache is [batch, kv heads, sequence, head dim].
            for (String cache : new String[] {attention.pastKey(), attention.pastValue(), attention.presentKey(),
                    attention.presentValue()}) {
                graph.setDeclaredDim(cache, 1, newKvHeads);
            }
        }
        graph.removeDeadNodes();
        return graph.toModel();
    }

    /** Column indices of the given heads: head h covers [offset + h·dim, offset + (h+1)·dim). */
    static int[] expand(int[] heads, int dim, int offset) {
        return Arrays.stream(heads).flatMap(h -> IntStream.range(offset + h * dim, offset + (h + 1) * dim)).toArray();
    }
}
