package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.structure.MlpBlock;
import dev.tierserve.compressor.graph.structure.StructureMap;

import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Physically removes MLP channels (intermediate units): up and gate columns and biases, down-projection rows.
 * Removing every channel removes the sub-block.
 */
public final class ChannelPruning {

    private ChannelPruning() {
    }

    public static ModelProto pruneChannels(ModelProto model, StructureMap map, int layerIndex, Set<Integer> channels) {
        MlpBlock mlp = map.layer(layerIndex).mlp();
        if (mlp == null) {
            throw new IllegalArgumentException("layer " + layerIndex + " has no MLP sub-block");
        }
        Set<Integer> removed = new TreeSet<>(channels);
        int width = mlp.intermediateSize();
        for (int channel : removed) {
            if (channel < 0 || channel >= width) {
                throw new IllegalArgumentException("layer " + layerIndex + " has channels 0.." + (width - 1)
                        + ", not " + channel);
            }
        }
        if (removed.size() == width) {
            return SubBlockRemoval.dropMlp(model, map, layerIndex);
        }
        if (removed.isEmpty()) {
            return model;
        }
        int[] kept = IntStream.range(0, width).filter(c -> !removed.contains(c)).toArray();
        MutableGraph graph = new MutableGraph(model);
        WeightSlicing.keepColumns(graph, mlp.up().weight(), kept);
        WeightSlicing.keepEntries(graph, mlp.up().bias(), kept);
        if (mlp.gate() != null) {
            WeightSlicing.keepColumns(graph, mlp.gate().weight(), kept);
            WeightSlicing.keepEntries(graph, mlp.gate().bias(), kept);
        }
        WeightSlicing.keepRows(graph, mlp.down().weight(), kept);
        return graph.toModel();
    }
}
