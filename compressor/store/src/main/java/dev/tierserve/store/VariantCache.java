package dev.tierserve.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Model files downloaded from a remote store, on local disk under {@code <dir>/<model>/<variant id>/model.onnx} (with
 * {@code model.onnx.data} beside it for a variant with external data), bounded by bytes: the least recently handed-out
 * variants go first when a download would pass the bound (the one just downloaded always stays). A variant's files are
 * checked against its checksum whenever they are handed out, so files altered or cut short on this disk are
 * downloaded again, and a download that does not match is refused.
 */
public final class VariantCache {

    /**
     * Writes the remote model file to {@code target} (which does not exist yet), and its external data file beside it
     * ({@link StoredVariant#DATA_FILE}) when it has one.
     */
    @FunctionalInterface
    public interface Download {
        void to(Path target);
    }

    /** A download in progress: {@code <dir>/<model>/<variant id>.part/}. */
    private static final String PART = ".part";

    private final Path dir;
    private final long maxBytes;
    private final Map<String, Object> downloads = new ConcurrentHashMap<>();

    public VariantCache(Path dir, long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("the cache bound must be positive, got " + maxBytes);
        }
        this.dir = dir.toAbsolutePath();
        this.maxBytes = maxBytes;
    }

    /**
     * The local copy of a variant's model file whose checksum is {@code sha256} (see
     * {@link VariantPublisher#variantSha256}), downloaded first if absent or different.
     *
     * @throws CorruptVariantException when the download does not match {@code sha256}
     */
    public Path file(String model, String variantId, String sha256, Download download) {
        Path variantDir = dir.resolve(StoreNames.check(model)).resolve(StoreNames.check(variantId));
        Path target = variantDir.resolve(StoredVariant.MODEL_FILE);
        synchronized (downloads.computeIfAbsent(model + "/" + variantId, k -> new Object())) {
            try {
                if (Files.isRegularFile(target) && VariantPublisher.variantSha256(target).equals(sha256)) {
                    Files.setLastModifiedTime(target, FileTime.fromMillis(System.currentTimeMillis()));
                    return target;
                }
                Path part = variantDir.resolveSibling(variantId + PART);
                deleteRecursively(part);
                Files.createDirectories(part);
                download.to(part.resolve(StoredVariant.MODEL_FILE));
                String actual = VariantPublisher.variantSha256(part.resolve(StoredVariant.MODEL_FILE));
                if (!actual.equals(sha256)) {
                    deleteRecursively(part);
                    throw new CorruptVariantException("variant " + model + "/" + variantId + " fails its checksum "
                            + "(manifest " + sha256 + ", downloaded " + actual + ")");
                }
                deleteRecursively(variantDir);
                Files.move(part, variantDir, StandardCopyOption.ATOMIC_MOVE);
                evictBeyondBound(target);
                return target;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot cache " + model + "/" + variantId + " in " + dir, e);
            }
        }
    }

    /** The bytes of the cached model files now. */
    public long bytes() {
        return cached().stream().mapToLong(VariantCache::size).sum();
    }

    private void evictBeyondBound(Path keep) throws IOException {
        List<Path> files = new ArrayList<>(cached());
        files.sort(Comparator.comparingLong(VariantCache::lastUsed));
        long total = files.stream().mapToLong(VariantCache::size).sum();
        for (Path file : files) {
            if (total <= maxBytes) {
                return;
            }
            if (!file.equals(keep)) {
                total -= size(file);
                deleteRecursively(file.getParent());
            }
        }
    }

    private List<Path> cached() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir, 3)) {
            return walk.filter(p -> p.getFileName().toString().equals(StoredVariant.MODEL_FILE)
                    && !p.getParent().getFileName().toString().endsWith(PART) && Files.isRegularFile(p)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /** A variant's bytes: its model file and its external data file. */
    private static long size(Path modelFile) {
        long bytes = 0;
        for (Path file : List.of(modelFile, modelFile.resolveSibling(StoredVariant.DATA_FILE))) {
            try {
                bytes += Files.size(file);
            } catch (IOException e) {
                // absent (no external data) or removed meanwhile
            }
        }
        return bytes;
    }

    private static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static long lastUsed(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }
}
