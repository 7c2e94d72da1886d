package dev.tierserve.store;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Writes a variant into the store layout {@code <root>/<model>/<variant id>/model.onnx + variant.json}:
 * everything goes to a temporary directory first, the model's checksum is verified after writing, and one
 * rename makes the variant visible, so a reader never sees half a variant.
 */
public final class VariantPublisher {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;

    public VariantPublisher(Path root) {
        this.root = root;
    }

    /** @param manifest given the model file's sha256, the manifest to write beside it */
    public Path publish(String model, String variantId, ModelFileWriter modelFile,
                        Function<String, VariantManifest> manifest) {
        Path modelDir = root.resolve(StoreNames.check(model));
        Path target = modelDir.resolve(StoreNames.check(variantId));
        Path staging = null;
        try {
            Files.createDirectories(modelDir);
            staging = Files.createTempDirectory(modelDir, "." + variantId + "-");
            Path file = staging.resolve("model.onnx");
            modelFile.writeTo(file);
            String sha256 = variantSha256(file);
            JSON.writerWithDefaultPrettyPrinter().writeValue(staging.resolve("variant.json").toFile(),
                    manifest.apply(sha256));
            if (Files.exists(target)) {
                throw new IOException("variant " + target + " already exists");
            }
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            staging = null;
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot publish " + target + ": " + e.getMessage(), e);
        } finally {
            // What a failed publication wrote goes at once: on a full disk it is the space the next try needs.
            deleteQuietly(staging);
        }
    }

    private static void deleteQuietly(Path staging) {
        if (staging == null || !Files.exists(staging)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(staging)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException | UncheckedIOException e) {
            // removeAbandonedStaging takes what is left later
        }
    }

    /** Records a target a method could not reach (replacing an older record for the same method, tier and runtime). */
    public Path recordUnreached(String model, String tier, UnreachedTarget record) {
        Path dir = root.resolve(StoreNames.check(model)).resolve("unreached");
        Path target = dir.resolve(record.method() + "-" + tier + "-" + record.runtime().key() + ".json");
        try {
            Files.createDirectories(dir);
            Path staging = Files.createTempFile(dir, ".unreached-", ".json");
            JSON.writerWithDefaultPrettyPrinter().writeValue(staging.toFile(), record);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * A variant's checksum, as its manifest records it: the sha256 of {@code model.onnx}, followed by that of its
     * external data file when it has one (so a variant without external data has its model file's plain sha256).
     */
    public static String variantSha256(Path modelFile) throws IOException {
        String model = sha256(modelFile);
        Path data = modelFile.resolveSibling(StoredVariant.DATA_FILE);
        if (!Files.exists(data)) {
            return model;
        }
        MessageDigest digest = digest();
        digest.update(HexFormat.of().parseHex(model));
        digest.update(HexFormat.of().parseHex(sha256(data)));
        return HexFormat.of().formatHex(digest.digest());
    }

    public static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest())) {
            MessageDigest digest = ((DigestInputStream) in).getMessageDigest();
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(digest.digest());
        }
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
