package dev.tierserve.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rollout by hand, as gateway/README.md shows it: the packaged gateway with an admin token, two variants of BGE-small
 * in its store (v1, then v2), and the packaged client's {@code rollout} commands, that README's examples first. A canary at 30% answers the same routing keys every
 * time, a restarted gateway resumes the rollout where it was, and a rollback sends every key back to stable.
 */
class RolloutIT {

    private static final String BGE = "bge-small-en-v1.5";
    private static final String BGE_TEXT = "bge-small-en-v1.5-text";
    private static final String TOKEN = "it-admin-token-7d2e";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path home;

    @Test
    void aCanaryIsStickyAndSurvivesARestartAndRollsBack() throws Exception {
        Path tokenFile = Files.writeString(home.resolve("admin-token"), TOKEN + "\n");
        Path wrongToken = Files.writeString(home.resolve("wrong-token"), "not-" + TOKEN);
        String[] settings = {"gateway.admin.token-file=" + tokenFile, "gateway.rollout.interval=1h",
                "gateway.compressor.mode=off"};
        List<String> canaryKeys = new ArrayList<>();
        List<String> stableKeys = new ArrayList<>();
        try (PackagedGateway gateway = PackagedGateway.start(home, settings)) {
            PackagedClient client = new PackagedClient(gateway.grpcTarget());
            publishCopy(home, "v1");
            publishCopy(home, "v2");

            PackagedClient.Run denied = client.run("rollout", "--token-file", wrongToken.toString(), "status");
            assertEquals(2, denied.exitCode(), denied.toString());
            assertTrue(denied.stderr().contains("PERMISSION_DENIED"), denied.toString());
            assertFalse(denied.stderr().contains("\tat "), "one line, no stack trace: " + denied);

            String token = "--token-file=" + tokenFile;
            ok(client.run("rollout", token, "canary", "--model", BGE, "--tier", "1.5x", "--variant", "v1",
                    "--weight", "0"));
            ok(client.run("rollout", token, "promote", "--model", BGE, "--tier", "1.5x", "--reason", "first"));

            // gateway/README.md's rollout examples, as written, with the token file in the environment.
            PackagedClient readme = new PackagedClient(gateway.grpcTarget(),
                    Map.of("TIERSERVE_ADMIN_TOKEN_FILE", tokenFile.toString()));
            List<ReadmeExamples.Example> examples = ReadmeExamples.of(ReadmeExamples.GATEWAY_README,
                            PackagedGatewayIT.CLIENT_JAR).stream()
                    .filter(example -> example.section().equals(ReadmeExamples.ROLLOUT_SECTION)).toList();
            assertTrue(examples.size() >= 5, "status, canary, shadow, infer, rollback: " + examples);
            for (ReadmeExamples.Example example : examples) {
                ReadmeExamples.assertRunsAsWritten(readme, example);
            }

            PackagedClient.Run canary = ok(client.run("rollout", token, "canary", "--model", BGE, "--tier", "1.5x",
                    "--variant", "v2", "--weight", "0.3"));
            assertTrue(canary.stdout().contains("canary v2 at weight 0.30"), canary.toString());

            for (int key = 0; key < 12 && (canaryKeys.isEmpty() || stableKeys.isEmpty()); key++) {
                String routingKey = "user-" + key;
                (servedByCanary(client, routingKey) ? canaryKeys : stableKeys).add(routingKey);
            }
            assertFalse(canaryKeys.isEmpty(), "no key of 12 on a 30% canary");
            assertFalse(stableKeys.isEmpty(), "no key of 12 on stable");
            assertTrue(servedByCanary(client, canaryKeys.get(0)), "the same key, the same side");
            assertFalse(servedByCanary(client, stableKeys.get(0)), "the same key, the same side");
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(gateway.httpBase() + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("nv_inference_request_success")
                    && l.contains("canary=\"true\"") && l.contains("variant=\"v2\"")), "canary series");
        }

        try (PackagedGateway restarted = PackagedGateway.start(home, settings)) {
            PackagedClient client = new PackagedClient(restarted.grpcTarget());
            JsonNode rollout = JSON.readTree(ok(client.run("rollout", "--token-file", tokenFile.toString(), "status",
                    "--model", BGE, "--tier", "1.5x", "--json")).stdout());
            assertEquals("v1", rollout.at("/state/stable").asText());
            assertEquals("v2", rollout.at("/state/canary").asText());
            assertEquals(0.3, rollout.at("/state/canaryWeight").asDouble(), 1e-9);
            List<String> actions = new ArrayList<>();
            rollout.at("/history").forEach(event -> actions.add(event.at("/action").asText()));
            assertEquals(List.of("CANARY", "PROMOTE", "CANARY", "SHADOW", "ROLLBACK", "CANARY"), actions);
            assertTrue(servedByCanary(client, canaryKeys.get(0)), "after a restart, the same side");

            ok(client.run("rollout", "--token-file", tokenFile.toString(), "rollback", "--model", BGE, "--tier",
                    "1.5x", "--reason", "enough"));
            assertFalse(servedByCanary(client, canaryKeys.get(0)), "rolled back: every key on stable");
        }
    }

    private static boolean servedByCanary(PackagedClient client, String routingKey) throws Exception {
        PackagedClient.Run run = ok(client.run("infer", "--model", BGE_TEXT, "--tier", "1.5x", "--text",
                "a rollout test sentence", "--routing-key", routingKey));
        String first = run.stdout().lines().findFirst().orElse("");
        assertTrue(first.contains("served tier 1.5x"), run.toString());
        return first.contains("canary true");
    }

    private static PackagedClient.Run ok(PackagedClient.Run run) {
        assertEquals(0, run.exitCode(), run.toString());
        return run;
    }

    /**
     * Publishes the embedded BGE-small (which the gateway installed in its repository) as a variant of tier 1.5x:
     * its model file linked into the store, its manifest written after it, as a publisher does.
     */
    private static void publishCopy(Path home, String id) throws IOException {
        Path parent = home.resolve("models").resolve(BGE).resolve("model.onnx");
        assertTrue(Files.isRegularFile(parent), "the gateway installed its embedded model");
        Path dir = Files.createDirectories(home.resolve("variants").resolve(BGE).resolve(id));
        Files.createLink(dir.resolve("model.onnx"), parent);
        ObjectNode manifest = JSON.createObjectNode().put("id", id).put("parent", BGE).put("method", "copy")
                .put("targetSpeedup", 1.5).put("measuredSpeedup", 1.5).put("sha256", sha256(parent))
                .put("created", Instant.now().toString());
        manifest.putObject("quality").put("data", "fixture").putObject("encoder").put("meanCosine", 1.0);
        Path staging = dir.resolve(".variant.json.tmp");
        JSON.writeValue(staging.toFile(), manifest);
        Files.move(staging, dir.resolve("variant.json"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        assertNotNull(manifest);
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest())) {
            MessageDigest digest = ((DigestInputStream) in).getMessageDigest();
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(digest.digest());
        }
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
