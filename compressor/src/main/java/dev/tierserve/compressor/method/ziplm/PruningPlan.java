package dev.tierserve.compressor.method.ziplm;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.edit.ChannelPruning;
import dev.tierserve.compressor.graph.edit.HeadPruning;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.edit.WeightRewrite;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import org.ejml.data.FMatrixRMaj;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * A level chosen for every prunable block: realised either as search-graph inputs (masks, gates and the OBS
 * weights, to score it without building a model) or physically (smaller initializers, fewer heads, removed
 * blocks; no masks left).
 */
public record PruningPlan(List<PrunableBlock> blocks, int[] remainingGroups) {

    /**
     * The search graph's inputs that differ from its defaults when {@code block} keeps {@code remaining} groups: its
     * gate at 0 when none, its mask and OBS-updated output weight when some, nothing when all.
     */
    public static Map<String, TensorProto> blockInputs(SearchGraph search, PrunableBlock block, int remaining) {
        if (remaining == 0) {
            String gate = block.attention() ? search.attentionGates().get(block.layer())
                    : search.mlpGates().get(block.layer());
            return Map.of(gate, TensorData.floatTensor(gate, new long[] {1}, new float[] {0f}));
        }
        if (remaining == block.groups()) {
            return Map.of();
        }
        String maskName = block.attention() ? search.headMasks().get(block.layer())
                : search.channelMasks().get(block.layer());
        int units = block.groups() * block.headsPerGroup();
        float[] mask = new float[units];
        for (int g : block.trajectory().keptGroups(block.groups(), remaining)) {
            for (int u = g * block.headsPerGroup(); u < (g + 1) * block.headsPerGroup(); u++) {
                mask[u] = 1f;
            }
        }
        FMatrixRMaj weight = block.trajectory().snapshots().get(remaining).dense();
        float[] values = weight.data;
        return Map.of(maskName, TensorData.floatTensor(maskName, new long[] {units}, mask),
                block.outputWeight(), TensorData.floatTensor(block.outputWeight(),
                        new long[] {weight.numRows, weight.numCols}, values));
    }

    /** The physically pruned model. */
    public ModelProto apply(ModelProto parent) {
        ModelProto model = parent;
        // Width first (layer indices stay valid), then whole blocks from the last layer down.
        for (int b = 0; b < blocks.size(); b++) {
            PrunableBlock block = blocks.get(b);
            int remaining = remainingGroups[b];
            if (remaining == 0 || remaining == block.groups()) {
                continue;
            }
            int[] kept = block.trajectory().keptGroups(block.groups(), remaining);
            Set<Integer> removedUnits = new TreeSet<>();
            Set<Integer> keptSet = new TreeSet<>(Arrays.stream(kept).boxed().toList());
            for (int g = 0; g < block.groups(); g++) {
                if (!keptSet.contains(g)) {
                    for (int u = g * block.headsPerGroup(); u < (g + 1) * block.headsPerGroup(); u++) {
                        removedUnits.add(u);
                    }
                }
            }
            StructureMap map = StructureDetector.detect(model);
            model = block.attention() ? HeadPruning.pruneHeads(model, map, block.layer(), removedUnits)
                    : ChannelPruning.pruneChannels(model, map, block.layer(), removedUnits);
            map = StructureDetector.detect(model);
            TransformerLayer layer = map.layer(block.layer());
            var projection = block.attention() ? layer.attention().output() : layer.mlp().down();
            model = WeightRewrite.replace(model, projection, keptRows(block, remaining), null);
        }
        Map<Integer, int[]> drops = new LinkedHashMap<>();
        for (int b = 0; b < blocks.size(); b++) {
            if (remainingGroups[b] == 0) {
                drops.computeIfAbsent(blocks.get(b).layer(), k -> new int[2])[blocks.get(b).attention() ? 0 : 1] = 1;
            }
        }
        List<Integer> layers = drops.keySet().stream().sorted((x, y) -> y - x).toList();
        for (int layer : layers) {
            int[] drop = drops.get(layer);
            if (drop[0] == 1) {
                model = SubBlockRemoval.dropAttention(model, StructureDetector.detect(model), layer);
            }
            if (drop[1] == 1) {
                model = SubBlockRemoval.dropMlp(model, StructureDetector.detect(model), layer);
            }
        }
        return model;
    }

    /** The OBS-updated weight restricted to the kept groups' rows, in increasing row order. */
    private static FMatrixRMaj keptRows(PrunableBlock block, int remaining) {
        return block.trajectory().snapshots().get(remaining).remaining();
    }

    /**
     * Query heads kept per layer of the original model (0 = attention removed), indexed by origin: {@code layers} is
     * the original model's layer count.
     */
    public int[] heads(int layers) {
        return units(layers, true);
    }

    /** MLP channels kept per layer of the original model (0 = MLP removed), as {@link #heads}. */
    public int[] channels(int layers) {
        return units(layers, false);
    }

    private int[] units(int layers, boolean attention) {
        int[] units = new int[layers];
        for (int b = 0; b < blocks.size(); b++) {
            if (blocks.get(b).attention() == attention) {
                units[blocks.get(b).origin()] = blocks.get(b).units(remainingGroups[b]);
            }
        }
        return units;
    }

    public String describe() {
        StringBuilder out = new StringBuilder();
        for (int b = 0; b < blocks.size(); b++) {
            PrunableBlock block = blocks.get(b);
            out.append(block.label()).append('=').append(block.units(remainingGroups[b])).append(b + 1 < blocks.size()
                    ? ", " : "");
        }
        return out.toString();
    }
}
