package dev.tierserve.compressor.cli;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.graph.OnnxModelWriter;
import dev.tierserve.compressor.graph.edit.HeadPruning;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvaluateCommandTest {

    @TempDir
    Path dir;

    @Test
    void writesTheJsonReportAndAQualityVersusSpeedupChart() throws Exception {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        Path parentFile = dir.resolve("model.onnx");
        OnnxModelWriter.write(parent, parentFile);
        Files.copy(TestModels.file(TestModels.MINILM_TOKENIZER), dir.resolve("tokenizer.json"));
        Path variant = dir.resolve("half-heads.onnx");
        ModelProto pruned = parent;
        for (int layer = 0; layer < 6; layer++) {
            pruned = HeadPruning.pruneHeads(pruned, StructureDetector.detect(pruned), layer, Set.of(0, 2, 4, 6, 8, 10));
        }
        OnnxModelWriter.write(pruned, variant);
        Path json = dir.resolve("report.json");
        Path png = dir.resolve("chart.png");

        int exit = CompressorCommand.commandLine().execute("evaluate", parentFile.toString(), variant.toString(),
                "--train", "60", "--test", "30", "--eval-seq", "32", "--seq", "32", "--rounds", "3",
                "--json", json.toString(), "--plot", png.toString());
        assertEquals(0, exit);

        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals(2, report.get("results").size());
        JsonNode variantResult = report.get("results").get(1);
        assertEquals(variant.toString(), variantResult.get("name").asText());
        assertTrue(variantResult.get("measuredSpeedup").asDouble() > 0);
        double cosine = variantResult.get("encoder").get("meanCosine").asDouble();
        assertTrue(cosine > 0 && cosine < 1, "cosine " + cosine);
        assertEquals(1, report.get("latencySettings").get("threads").asInt());

        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(800, image.getWidth());
        assertEquals(560, image.getHeight());
    }
}
