package dev.tierserve.compressor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.OnnxModelWriter;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.synthetic.DecoderBuilder;
import dev.tierserve.compressor.synthetic.DecoderConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code compress --method parallel} on all-MiniLM-L6 and {@code --method ziplm} on a synthetic Llama-style decoder:
 * what lands in the variant store. ({@code --method trimllm} on MiniLM is {@code CompressCommandIT}'s, run as the
 * packaged jar.)
 */
class CompressCommandTest {

    @TempDir
    Path dir;

    private Path parent() throws Exception {
        return TestModels.modelDirectory(dir.resolve("minilm"), TestModels.MINILM, TestModels.MINILM_TOKENIZER);
    }

    @Test
    void ziplmPublishesAPrunedSyntheticDecoder() throws Exception {
        // The decoder's vocabulary (1000) is smaller than the tokenizer's: token ids are folded into it.
        Path parent = Files.createDirectories(dir.resolve("llama")).resolve("model.onnx");
        DecoderConfig config = DecoderConfig.llama().withWidth(256, 8, 4, 688);
        OnnxModelWriter.write(DecoderBuilder.build(config), parent);
        Files.copy(TestModels.file(TestModels.MINILM_TOKENIZER), parent.resolveSibling("tokenizer.json"));
        Path store = dir.resolve("store");
        int exit = CompressorCommand.commandLine().execute("compress", "--method", "ziplm", "--precision", "float32",
                "--model", parent.toString(), "--targets", "1.5", "--calibration-texts", "32", "--seq", "128",
                "--test-texts", "20", "--out", store.toString());
        assertEquals(0, exit);

        Path variant = onlyVariant(store.resolve("llama"), "ziplm");
        JsonNode manifest = new ObjectMapper().readTree(variant.resolve("variant.json").toFile());
        assertTrue(manifest.get("measuredSpeedup").asDouble() >= 1.5);
        assertTrue(manifest.get("synthetic").asBoolean());
        assertTrue(manifest.get("quality").get("decoder").get("meanKl").asDouble() > 0);
        StructureMap map = StructureDetector.detect(OnnxModelReader.read(variant.resolve("model.onnx")));
        int heads = map.layers().stream().mapToInt(l -> l.attention() == null ? 0 : l.attention().heads()).sum();
        int channels = map.layers().stream().mapToInt(l -> l.mlp() == null ? 0 : l.mlp().intermediateSize()).sum();
        assertTrue(heads + channels < config.layers() * (config.heads() + config.ffn()),
                "pruned: " + heads + " heads, " + channels + " channels");
    }

    @Test
    void aTargetParallelPairsCannotReachIsRecordedNotPublished() throws Exception {
        Path store = dir.resolve("store");
        int exit = CompressorCommand.commandLine().execute("compress", "--method", "parallel", "--precision", "float32",
                "--model", parent().toString(), "--targets", "3", "--calibration-texts", "16", "--seq", "64",
                "--test-texts", "20", "--out", store.toString());
        assertEquals(0, exit);

        Path record = store.resolve("minilm/unreached/parallel-3x-cpu-t1-b1-s64.json");
        assertTrue(Files.exists(record), "unreached record written");
        JsonNode unreached = new ObjectMapper().readTree(record.toFile());
        assertTrue(unreached.get("bestMeasuredSpeedup").asDouble() < 3);
        assertTrue(unreached.get("reason").asText().contains("do not pay off"));
        try (Stream<Path> listing = Files.list(store.resolve("minilm"))) {
            assertEquals(List.of("unreached"), listing.map(p -> p.getFileName().toString()).toList(),
                    "no variant published");
        }
    }

    /** The one variant directory whose name starts with {@code prefix}: one target, one variant. */
    private static Path onlyVariant(Path modelStore, String prefix) throws IOException {
        List<Path> variants;
        try (Stream<Path> listing = Files.list(modelStore)) {
            variants = listing.filter(p -> p.getFileName().toString().startsWith(prefix)).toList();
        }
        assertEquals(1, variants.size(), "one variant for one target: " + variants);
        return variants.get(0);
    }
}
