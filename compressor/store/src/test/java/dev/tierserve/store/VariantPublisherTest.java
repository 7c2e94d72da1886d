package dev.tierserve.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VariantPublisherTest {

    @TempDir
    Path root;

    @Test
    void publishesModelAndManifestInOneStepWithTheirChecksum() throws Exception {
        TestModelFile model = TestModelFile.random(256 * 1024);
        VariantPublisher publisher = new VariantPublisher(root);
        Path dir = publisher.publish("tiny", "ziplm-2x-test", model, sha -> manifest(sha));
        assertEquals(root.resolve("tiny/ziplm-2x-test"), dir);
        assertArrayEquals(model.bytes(), Files.readAllBytes(dir.resolve("model.onnx")));
        JsonNode json = new ObjectMapper().readTree(dir.resolve("variant.json").toFile());
        assertEquals(VariantPublisher.sha256(dir.resolve("model.onnx")), json.get("sha256").asText());
        assertEquals(2.1, json.get("measuredSpeedup").asDouble());
        assertEquals("CPU", json.get("latency").get("runtime").get("provider").asText());
        assertTrue(json.get("synthetic").asBoolean());
        try (var entries = Files.list(root.resolve("tiny"))) {
            assertEquals(1, entries.count(), "no staging directory left behind");
        }
        assertThrows(UncheckedIOException.class, () -> publisher.publish("tiny", "ziplm-2x-test", model, this::manifest),
                "a published variant is never overwritten");
    }

    private VariantManifest manifest(String sha) {
        return new VariantManifest("ziplm-2x-test", "tiny", "parent-sha", "ziplm", Map.of("calibrationTexts", 8), 2.0,
                2.1, new VariantManifest.Latency(10, 4.76, RuntimeSettings.cpu(1, 1, 16), 5, 20), null, "test", sha,
                "2026-11-23T00:00:00Z", true);
    }
}
