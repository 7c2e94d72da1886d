package dev.tierserve.store;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The variant store in a directory (DESIGN.md): {@code <root>/<model>/<variant id>/model.onnx + variant.json},
 * {@code <root>/<model>/tiers.json}, and the planner's {@code unreached/} records. Readers see only complete
 * variants because {@link VariantPublisher} makes each visible with one rename; a variant's checksum is checked
 * again whenever its model file is handed out for loading.
 */
public final class FileVariantStore implements VariantStore {

    public static final String TIERS_FILE = "tiers.json";
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private static final Map<Path, Object> TIER_MONITORS = new ConcurrentHashMap<>();

    private final Path root;
    private final JobQueue jobs;

    FileVariantStore(Path root) {
        this.root = root.toAbsolutePath();
        this.jobs = new FileJobQueue(this.root);
    }

    public Path root() {
        return root;
    }

    @Override
    public String describe() {
        return root.toString();
    }

    @Override
    public Path workDir() {
        return root;
    }

    @Override
    public String publish(String model, String variantId, ModelFileWriter modelFile,
                          Function<String, VariantManifest> manifest) {
        return new VariantPublisher(root).publish(model, variantId, modelFile, manifest).toString();
    }

    @Override
    public void recordUnreached(String model, String tier, UnreachedTarget record) {
        new VariantPublisher(root).recordUnreached(model, tier, record);
    }

    @Override
    public JobQueue jobs() {
        return jobs;
    }

    /** The variant's model file in this store (not verified: see {@link #verifiedModelFile}). */
    public Path modelFile(StoredVariant variant) {
        return root.resolve(StoreNames.check(variant.model())).resolve(StoreNames.check(variant.id())).resolve(StoredVariant.MODEL_FILE);
    }

    /** Every complete variant of {@code model}, oldest first; unreadable manifests are skipped. */
    public List<StoredVariant> variants(String model) {
        Path dir = root.resolve(StoreNames.check(model));
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<StoredVariant> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path entry : entries.sorted().toList()) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".") || !Files.isRegularFile(entry.resolve(StoredVariant.MANIFEST_FILE))) {
                    continue; // staging directories, jobs/, unreached/
                }
                try {
                    VariantManifest manifest = JSON.readValue(entry.resolve(StoredVariant.MANIFEST_FILE).toFile(),
                            VariantManifest.class);
                    found.add(new StoredVariant(model, name, manifest));
                } catch (IOException e) {
                    // A manifest that does not parse is as good as a corrupt variant: never served.
                }
            }
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        found.sort(Comparator.comparing((StoredVariant v) -> v.manifest().created() == null ? "" : v.manifest().created()));
        return found;
    }

    @Override
    public Path verifiedModelFile(StoredVariant variant) {
        Path file = modelFile(variant);
        String actual;
        try {
            actual = VariantPublisher.variantSha256(file);
        } catch (IOException e) {
            throw new CorruptVariantException("variant " + variant.model() + "/" + variant.id() + " has no readable "
                    + StoredVariant.MODEL_FILE + ": " + e.getMessage());
        }
        if (!actual.equals(variant.manifest().sha256())) {
            throw new CorruptVariantException("variant " + variant.model() + "/" + variant.id()
                    + " fails its checksum (manifest " + variant.manifest().sha256() + ", file " + actual + ")");
        }
        return file;
    }

    @Override
    public List<UnreachedTarget> unreached(String model) {
        Path dir = root.resolve(StoreNames.check(model)).resolve("unreached");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<UnreachedTarget> records = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".json") && !f.getFileName().toString()
                    .startsWith(".")).sorted().toList()) {
                try {
                    records.add(JSON.readValue(file.toFile(), UnreachedTarget.class));
                } catch (IOException e) {
                    // a half-written or foreign file: ignored, the planner simply runs the method again
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        return records;
    }

    @Override
    public TierTable tiers(String model) {
        Path file = root.resolve(StoreNames.check(model)).resolve(TIERS_FILE);
        if (!Files.exists(file)) {
            return TierTable.empty();
        }
        try {
            return JSON.readValue(file.toFile(), TierTable.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /**
     * Read-modify-write of {@code tiers.json} under a file lock, so that two processes publishing at once do not
     * lose each other's assignment; the new table replaces the old one with one atomic rename.
     */
    @Override
    public TierTable updateTiers(String model, TierChange change) {
        Path dir = root.resolve(StoreNames.check(model));
        // The file lock excludes other processes; the monitor excludes other threads of this one (file locks are
        // held per process, and a second lock attempt from the same process fails instead of waiting).
        synchronized (TIER_MONITORS.computeIfAbsent(dir, d -> new Object())) {
            return updateTiersLocked(model, dir, change);
        }
    }

    private TierTable updateTiersLocked(String model, Path dir, TierChange change) {
        try {
            Files.createDirectories(dir);
            try (FileChannel lockFile = FileChannel.open(dir.resolve(".tiers.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
                TierTable next = change.applyTo(tiers(model));
                Path staging = Files.createTempFile(dir, ".tiers-", ".json");
                JSON.writerWithDefaultPrettyPrinter().writeValue(staging.toFile(), next);
                Files.move(staging, dir.resolve(TIERS_FILE), StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                return next;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot update " + dir.resolve(TIERS_FILE), e);
        }
    }

    /**
     * Removes staging directories a killed publisher left behind (names starting with a dot, older than
     * {@code minAgeMillis}, so that a publish in progress in another process is not touched).
     */
    @Override
    public int removeAbandonedStaging(String model, long minAgeMillis) {
        Path dir = root.resolve(StoreNames.check(model));
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int removed = 0;
        long cutoff = System.currentTimeMillis() - minAgeMillis;
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path entry : entries.filter(Files::isDirectory).toList()) {
                if (entry.getFileName().toString().startsWith(".")
                        && Files.getLastModifiedTime(entry).toMillis() < cutoff) {
                    deleteRecursively(entry);
                    removed++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clean " + dir, e);
        }
        return removed;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
