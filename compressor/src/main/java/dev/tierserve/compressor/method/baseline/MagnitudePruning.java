package dev.tierserve.compressor.method.baseline;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.edit.ChannelPruning;
import dev.tierserve.compressor.graph.edit.HeadPruning;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;

import java.util.Comparator;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * The naive width baseline: keep, per block, the heads (KV groups) or MLP channels whose output-projection
 * rows have the largest L2 norm, with no weight update. Given the same per-block sizes as another method's
 * variant it has exactly the same shapes, hence the same speed: a like-for-like quality comparison.
 */
public final class MagnitudePruning {

    private MagnitudePruning() {
    }

    /**
     * @param heads    per layer, query heads to keep (0 = remove the attention sub-block)
     * @param channels per layer, MLP channels to keep (0 = remove the MLP sub-block)
     */
    public static ModelProto prune(ModelProto parent, int[] heads, int[] channels) {
        ModelProto model = parent;
        StructureMap map = StructureDetector.detect(model);
        for (int layer = 0; layer < map.layerCount(); layer++) {
            AttentionBlock attention = map.layer(layer).attention();
            if (heads[layer] > 0 && heads[layer] < attention.heads()) {
                int group = attention.groupSize();
                int rows = group * attention.headDim();
                float[] norms = rowGroupNorms(model, attention.output().weight(), rows);
                Set<Integer> removed = new TreeSet<>();
                IntStream.range(0, attention.kvHeads()).boxed().sorted(Comparator.comparingDouble(g -> norms[g]))
                        .limit(attention.kvHeads() - heads[layer] / group)
                        .forEach(g -> IntStream.range(g * group, (g + 1) * group).forEach(removed::add));
                model = HeadPruning.pruneHeads(model, map, layer, removed);
                map = StructureDetector.detect(model);
            }
            int width = map.layer(layer).mlp().intermediateSize();
            if (channels[layer] > 0 && channels[layer] < width) {
                float[] norms = rowGroupNorms(model, map.layer(layer).mlp().down().weight(), 1);
                Set<Integer> removed = new TreeSet<>(IntStream.range(0, width).boxed()
                        .sorted(Comparator.comparingDouble(c -> norms[c])).limit(width - channels[layer]).toList());
                model = ChannelPruning.pruneChannels(model, map, layer, removed);
                map = StructureDetector.detect(model);
            }
        }
        for (int layer = map.layerCount() - 1; layer >= 0; layer--) {
            if (heads[layer] == 0) {
                model = SubBlockRemoval.dropAttention(model, StructureDetector.detect(model), layer);
            }
            if (channels[layer] == 0) {
                model = SubBlockRemoval.dropMlp(model, StructureDetector.detect(model), layer);
            }
        }
        return model;
    }

    /** L2 norm of each consecutive group of {@code rows} rows of a [in, out] weight. */
    private static float[] rowGroupNorms(ModelProto model, String weight, int rows) {
        TensorProto tensor = model.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(weight))
                .findFirst().orElseThrow();
        float[] values = TensorData.floats(tensor);
        int out = (int) tensor.getDims(1);
        int groups = (int) tensor.getDims(0) / rows;
        float[] norms = new float[groups];
        for (int g = 0; g < groups; g++) {
            double sum = 0;
            for (int i = g * rows * out; i < (g + 1) * rows * out; i++) {
                sum += values[i] * values[i];
            }
            norms[g] = (float) Math.sqrt(sum);
        }
        return norms;
    }
}
