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
 * Model files downloaded from a remote store, on local disk under {@code <dir>/<model>/<variant id>/model.onnx},
 * bounded by bytes: the least recently handed-out files go first when a download would pass the bound (the file just
 * downloaded always stays). A file is checked against its sha256 whenever it is handed out, so a file altered or cut
 * short on this disk is downloaded again, and a download that does not match is refused.
 */
public final class VariantCache {

    /** Writes the remote object to {@code target} (which does not exist yet). */
    @FunctionalInterface
    public interface Download {
        void to(Path target);
    }

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
     * The local copy of a variant's model file whose sha256 is {@code sha256}, downloaded first if absent or different.
     *
     * @throws CorruptVariantException when the download does not match {@code sha256}
     */
    public Path file(String model, String variantId, String sha256, Download download) {
        Path target = dir.resolve(model).resolve(variantId).resolve(StoredVariant.MODEL_FILE);
        synchronized (downloads.computeIfAbsent(model + "/" + variantId, k -> new Object())) {
            try {
                if (Files.isRegularFile(target) && VariantPublisher.sha256(target).equals(sha256)) {
                    Files.setLastModifiedTime(target, FileTime.fromMillis(System.currentTimeMillis()));
                    return target;
                }
                Files.createDirectories(target.getParent());
                Path part = target.resolveSibling(StoredVariant.MODEL_FILE + ".part");
                Files.deleteIfExists(part);
                download.to(part);
                String actual = VariantPublisher.sha256(part);
                if (!actual.equals(sha256)) {
                    Files.deleteIfExists(part);
                    throw new CorruptVariantException("variant " + model + "/" + variantId + " fails its checksum "
                            + "(manifest " + sha256 + ", downloaded " + actual + ")");
                }
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
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
                Files.deleteIfExists(file);
            }
        }
    }

    private List<Path> cached() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir, 3)) {
            return walk.filter(p -> p.getFileName().toString().equals(StoredVariant.MODEL_FILE)
                    && Files.isRegularFile(p)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0; // removed meanwhile
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
