package dev.tierserve.compressor.latency;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.edit.ChannelPruning;
import dev.tierserve.compressor.graph.edit.HeadPruning;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.store.RuntimeSettings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Measures {@link ComponentLatencyTable}s and keeps them in a directory, one JSON file per parent and
 * runtime setting ({@code <model key>-<settings key>.json}); a table whose key matches is reused.
 * Block timings use one-layer models cut from the parent (layer 0 kept), so they run the parent's real ops.
 */
public final class ComponentLatencyMeter {

    /** MLP width levels: densities 0.9^k down to this fraction. */
    private static final double SMALLEST_DENSITY = 0.05;
    /** Sessions alive at once while measuring (each holds the embedding tables). */
    private static final int GROUP = 8;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final RuntimeSettings settings;
    private final int warmupRuns;
    private final int rounds;

    public ComponentLatencyMeter(RuntimeSettings settings, int warmupRuns, int rounds) {
        this.settings = settings;
        this.warmupRuns = warmupRuns;
        this.rounds = rounds;
    }

    public ComponentLatencyTable loadOrMeasure(ModelProto parent, EncodedBatch batch, Path directory) {
        String key = modelKey(parent);
        Path file = directory.resolve(key + "-" + settings.key() + ".json");
        try {
            if (Files.exists(file)) {
                ComponentLatencyTable table = JSON.readValue(file.toFile(), ComponentLatencyTable.class);
                if (table.modelKey().equals(key) && table.settings().equals(settings)) {
                    return table;
                }
            }
            ComponentLatencyTable table = measure(parent, batch);
            Files.createDirectories(directory);
            Path temporary = Files.createTempFile(directory, key, ".tmp");
            JSON.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), table);
            Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return table;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write " + file, e);
        }
    }

    public ComponentLatencyTable measure(ModelProto parent, EncodedBatch batch) {
        StructureMap map = StructureDetector.detect(parent);
        ModelProto oneLayer = SubBlockRemoval.dropLastLayers(parent, map.layerCount() - 1);
        StructureMap single = StructureDetector.detect(oneLayer);
        AttentionBlock attention = single.layer(0).attention();
        int group = attention.groupSize();
        ModelProto attentionOnly = SubBlockRemoval.dropMlp(oneLayer, single, 0);
        ModelProto mlpOnly = SubBlockRemoval.dropAttention(oneLayer, single, 0);
        ModelProto empty = SubBlockRemoval.dropMlp(mlpOnly, StructureDetector.detect(mlpOnly), 0);

        Map<String, ModelProto> attentionModels = new LinkedHashMap<>();
        for (int heads = group; heads <= attention.heads(); heads += group) {
            int keep = heads;
            Set<Integer> removed = new TreeSet<>(IntStream.range(keep, attention.heads()).boxed().toList());
            attentionModels.put("attention " + heads,
                    HeadPruning.pruneHeads(attentionOnly, StructureDetector.detect(attentionOnly), 0, removed));
        }
        int width = single.layer(0).mlp().intermediateSize();
        List<Integer> widths = new ArrayList<>();
        for (double density = 1.0; density >= SMALLEST_DENSITY; density *= 0.9) {
            int w = (int) Math.round(width * density);
            if (w >= 1 && !widths.contains(w)) {
                widths.add(w);
            }
        }
        Map<String, ModelProto> mlpModels = new LinkedHashMap<>();
        for (int w : widths) {
            Set<Integer> removed = new TreeSet<>(IntStream.range(w, width).boxed().toList());
            mlpModels.put("mlp " + w, ChannelPruning.pruneChannels(mlpOnly, StructureDetector.detect(mlpOnly), 0, removed));
        }

        Map<String, Double> attentionTimes = overEmpty(empty, attentionModels, batch);
        Map<String, Double> mlpTimes = overEmpty(empty, mlpModels, batch);
        double[] attentionMs = new double[attention.heads() + 1];
        for (int heads = group; heads <= attention.heads(); heads += group) {
            attentionMs[heads] = attentionTimes.get("attention " + heads);
        }
        List<ComponentLatencyTable.MlpLevel> levels = widths.stream()
                .map(w -> new ComponentLatencyTable.MlpLevel(w, mlpTimes.get("mlp " + w))).toList();

        ModelProto fixed = SubBlockRemoval.dropLastLayers(parent, map.layerCount());
        LatencyReport totals = meter().measure(List.of(new LatencyMeter.Candidate("full", parent),
                new LatencyMeter.Candidate("fixed", fixed)), batch);
        return new ComponentLatencyTable(modelKey(parent), settings, map.layerCount(), group, attentionMs, levels,
                totals.entry("full").medianMs(), totals.entry("fixed").medianMs());
    }

    /** Each model's median minus the empty one-layer model's, measured in groups that each include it. */
    private Map<String, Double> overEmpty(ModelProto empty, Map<String, ModelProto> models, EncodedBatch batch) {
        Map<String, Double> times = new LinkedHashMap<>();
        List<Map.Entry<String, ModelProto>> entries = new ArrayList<>(models.entrySet());
        for (int from = 0; from < entries.size(); from += GROUP) {
            List<LatencyMeter.Candidate> candidates = new ArrayList<>();
            candidates.add(new LatencyMeter.Candidate("empty", empty));
            entries.subList(from, Math.min(entries.size(), from + GROUP))
                    .forEach(e -> candidates.add(new LatencyMeter.Candidate(e.getKey(), e.getValue())));
            LatencyReport report = meter().measure(candidates, batch);
            double base = report.entry("empty").medianMs();
            candidates.subList(1, candidates.size()).forEach(c ->
                    times.put(c.name(), Math.max(0, report.entry(c.name()).medianMs() - base)));
        }
        return times;
    }

    private LatencyMeter meter() {
        return LatencyMeter.builder(settings).warmupRuns(warmupRuns).rounds(rounds).build();
    }

    public static String modelKey(ModelProto model) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(model.toByteArray());
            return HexFormat.of().formatHex(digest).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
