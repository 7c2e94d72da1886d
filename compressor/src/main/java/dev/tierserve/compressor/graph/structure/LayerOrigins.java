package dev.tierserve.compressor.graph.structure;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Which layer of the original model each layer of an edited one comes from, and which of its sub-blocks it still
 * has, kept in the model's metadata by the edits that remove sub-blocks. The graph alone cannot tell a layer that
 * lost its MLP followed by one that lost its attention from one whole layer (attention, then an MLP on the same
 * stream), so without this record the two would be read as one layer, and the sub-blocks after it paired with the
 * wrong layers of the original.
 *
 * <p>Stored as {@code tierserve.layers} = comma-separated {@code <origin>:<A|M|AM>}, e.g. {@code 0:AM,1:A,2:M}.
 */
public final class LayerOrigins {

    public static final String METADATA_KEY = "tierserve.layers";

    /** One layer still present: its index in the original model and the sub-blocks it has. */
    public record Entry(int origin, boolean attention, boolean mlp) {

        @Override
        public String toString() {
            return origin + ":" + (attention ? "A" : "") + (mlp ? "M" : "");
        }
    }

    private LayerOrigins() {
    }

    /** The recorded layers, or empty for a model no sub-block removal has touched. */
    public static Optional<List<Entry>> read(ModelProto model) {
        return model.getMetadataPropsList().stream().filter(p -> p.getKey().equals(METADATA_KEY)).findFirst()
                .map(p -> parse(p.getValue()));
    }

    /** {@code model} with {@code layers} recorded in place of any earlier record. */
    public static ModelProto write(ModelProto model, List<Entry> layers) {
        ModelProto.Builder builder = model.toBuilder().clearMetadataProps();
        model.getMetadataPropsList().stream().filter(p -> !p.getKey().equals(METADATA_KEY))
                .forEach(builder::addMetadataProps);
        String value = layers.stream().map(Entry::toString).collect(Collectors.joining(","));
        return builder.addMetadataProps(StringStringEntryProto.newBuilder().setKey(METADATA_KEY).setValue(value))
                .build();
    }

    private static List<Entry> parse(String value) {
        List<Entry> layers = new ArrayList<>();
        if (value.isEmpty()) {
            return layers;
        }
        for (String item : value.split(",")) {
            String[] parts = item.split(":");
            if (parts.length != 2 || !parts[0].matches("\\d+") || !parts[1].matches("A|M|AM")) {
                throw new StructurePatternException("<origin>:<A|M|AM>", "metadata " + METADATA_KEY, item);
            }
            layers.add(new Entry(Integer.parseInt(parts[0]), parts[1].contains("A"), parts[1].contains("M")));
        }
        return layers;
    }
}
