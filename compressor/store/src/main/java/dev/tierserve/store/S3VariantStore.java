package dev.tierserve.store;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The variant store in an S3 bucket (AWS SDK v2; any S3-compatible server), the same contract as
 * {@link FileVariantStore} under {@code s3://<bucket>/<prefix>/}:
 * <ul>
 * <li>{@code <model>/<variant id>/model.onnx}, then {@code <model>/<variant id>/variant.json}: the manifest is written
 * last and only if absent, so a variant is visible (listed) only once its model file is complete. A model file is
 * checked against the manifest's sha256 when downloaded, and downloads are kept in a local {@link VariantCache}.</li>
 * <li>{@code <model>/tiers/<change key>.json}: the tier table as an append-only log of {@link TierChange}s, each a
 * new object under a unique key. Nothing is read, modified and written back, so two processes changing tiers at once
 * never lose a change, on any S3 server (s3proxy checks If-Match before it writes, not atomically with the write).
 * Every reader folds the log in key order; a change whose precondition no longer holds at its place in the log is
 * skipped, and its writer is told.</li>
 * <li>{@code <model>/unreached/<method>-<tier>-<runtime>.json}: the planner's unreached records.</li>
 * <li>{@code <model>/jobs/} and {@code <model>/leases/}: compression jobs shared by any number of workers
 * ({@link S3JobQueue}).</li>
 * </ul>
 * Manifests and changes are immutable once written, so a reader caches them by key and ETag: polling costs one LIST
 * per model, and only new objects are fetched.
 */
public final class S3VariantStore implements VariantStore {

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private static final String TIERS_DIR = "tiers/";
    private static final String SCHEME = "s3://";

    private final S3Client s3;
    private final String bucket;
    private final String prefix;
    private final VariantCache cache;
    private final Path workDir;
    private final JobQueue jobs;
    /** Parsed manifests and tier changes by key and ETag: objects fetched once. */
    private final Map<String, Cached<?>> parsed = new ConcurrentHashMap<>();

    private record Cached<T>(String etag, T value) {
    }

    /** The store at {@code s3://bucket/prefix} (see {@link Builder}). */
    public static Builder builder(String location) {
        return new Builder(location);
    }

    /** Is {@code location} an S3 location ({@code s3://bucket[/prefix]}) rather than a directory? */
    public static boolean isS3(String location) {
        return location.startsWith(SCHEME);
    }

    /**
     * @param prefix  key prefix inside the bucket (empty, or ending without a slash)
     * @param cache   where downloaded model files are kept
     * @param workDir a local directory for this process' own files (latency tables, job records)
     */
    S3VariantStore(S3Client s3, String bucket, String prefix, VariantCache cache, Path workDir) {
        this(s3, bucket, prefix, cache, workDir, Duration.ofSeconds(30), Duration.ofSeconds(2));
    }

    /**
     * @param leaseTtl    how long a job's or tier's lease lasts without renewal (a dead worker's job waits this long)
     * @param leaseSettle how long a claim waits before it counts (longer than two workers' clocks may differ)
     */
    S3VariantStore(S3Client s3, String bucket, String prefix, VariantCache cache, Path workDir, Duration leaseTtl,
                   Duration leaseSettle) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix.isEmpty() || prefix.endsWith("/") ? prefix : prefix + "/";
        this.cache = cache;
        this.workDir = workDir.toAbsolutePath();
        this.jobs = new S3JobQueue(s3, bucket, this.prefix, leaseTtl, leaseSettle);
    }

    @Override
    public JobQueue jobs() {
        return jobs;
    }

    @Override
    public String describe() {
        return "s3://" + bucket + "/" + prefix;
    }

    @Override
    public Path workDir() {
        return workDir;
    }

    @Override
    public List<StoredVariant> variants(String model) {
        List<StoredVariant> found = new ArrayList<>();
        for (S3Object object : list(StoreNames.check(model) + "/")) {
            String[] parts = object.key().substring(prefix.length()).split("/");
            if (parts.length != 3 || !parts[2].equals(StoredVariant.MANIFEST_FILE)) {
                continue;
            }
            try {
                VariantManifest manifest = read(object, VariantManifest.class);
                found.add(new StoredVariant(model, parts[1], manifest));
            } catch (IOException e) {
                // A manifest that does not parse is as good as a corrupt variant: never served.
            }
        }
        found.sort(Comparator.comparing((StoredVariant v) -> v.manifest().created() == null ? ""
                : v.manifest().created()));
        return found;
    }

    @Override
    public Path verifiedModelFile(StoredVariant variant) {
        String key = key(variant.model(), variant.id(), StoredVariant.MODEL_FILE);
        String sha256 = variant.manifest().sha256();
        String dataKey = key(variant.model(), variant.id(), StoredVariant.DATA_FILE);
        return cache.file(variant.model(), variant.id(), sha256, target -> {
            try {
                s3.getObject(GetObjectRequest.builder().bucket(bucket).key(key).build(), target);
            } catch (NoSuchKeyException e) {
                throw new CorruptVariantException("variant " + variant.model() + "/" + variant.id() + " has no "
                        + StoredVariant.MODEL_FILE + " in " + describe());
            }
            try {
                s3.getObject(GetObjectRequest.builder().bucket(bucket).key(dataKey).build(),
                        target.resolveSibling(StoredVariant.DATA_FILE));
            } catch (NoSuchKeyException e) {
                // no external data: the usual case
            }
        });
    }

    @Override
    public List<UnreachedTarget> unreached(String model) {
        List<UnreachedTarget> records = new ArrayList<>();
        for (S3Object object : list(StoreNames.check(model) + "/unreached/")) {
            try {
                records.add(read(object, UnreachedTarget.class));
            } catch (IOException e) {
                // a foreign object: ignored, the planner simply runs the method again
            }
        }
        return records;
    }

    @Override
    public TierTable tiers(String model) {
        return fold(model).table();
    }

    /**
     * Appends {@code change} to the model's change log, under a key after every change this process has seen, then
     * folds the log again to learn whether a change written at the same time by another process went before it and
     * refused it.
     */
    @Override
    public TierTable updateTiers(String model, TierChange change) {
        Fold before = fold(model);
        change.applyTo(before.table()); // refused now, without writing, if it cannot apply
        String key = prefix + StoreNames.check(model) + "/" + TIERS_DIR + changeKey(before.lastKey()) + ".json";
        try {
            putIfAbsent(key, JSON.writeValueAsBytes(change));
        } catch (PreconditionFailed e) {
            // The key is this call's own (random): the SDK retried a PUT whose first attempt had arrived.
        } catch (IOException | SdkException e) {
            throw new UncheckedIOException(new IOException("cannot append a tier change to " + describe() + ": "
                    + e.getMessage(), e));
        }
        Fold after = fold(model);
        RejectedTierChange refused = after.refused().get(key);
        if (refused != null) {
            throw refused;
        }
        return after.table();
    }

    @Override
    public String publish(String model, String variantId, ModelFileWriter modelFile,
                          Function<String, VariantManifest> manifest) {
        Path staging = null;
        try {
            Files.createDirectories(workDir);
            staging = Files.createTempDirectory(workDir, ".publish-");
            Path file = staging.resolve(StoredVariant.MODEL_FILE);
            modelFile.writeTo(file);
            Path data = staging.resolve(StoredVariant.DATA_FILE);
            String sha256 = VariantPublisher.variantSha256(file);
            String manifestKey = key(model, variantId, StoredVariant.MANIFEST_FILE);
            if (exists(manifestKey)) {
                throw new IOException("variant " + describe() + model + "/" + variantId + " already exists");
            }
            // The external data first (a model over 2 GB), then the model, then the manifest.
            if (Files.exists(data)) {
                s3.putObject(put -> put.bucket(bucket).key(key(model, variantId, StoredVariant.DATA_FILE)),
                        RequestBody.fromFile(data));
            }
            s3.putObject(put -> put.bucket(bucket).key(key(model, variantId, StoredVariant.MODEL_FILE)),
                    RequestBody.fromFile(file));
            // The manifest last, and only if absent: its appearance is what makes the variant visible.
            try {
                putIfAbsent(manifestKey, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest.apply(sha256)));
            } catch (PreconditionFailed e) {
                // Another publisher got there first, or the SDK retried a PUT whose first attempt had arrived.
                VariantManifest there = JSON.readValue(s3.getObjectAsBytes(get -> get.bucket(bucket).key(manifestKey))
                        .asByteArray(), VariantManifest.class);
                if (!sha256.equals(there.sha256())) {
                    throw new IOException("variant " + describe() + model + "/" + variantId + " already exists", e);
                }
            }
            return describe() + model + "/" + variantId;
        } catch (IOException | SdkException e) {
            throw new UncheckedIOException(new IOException("cannot publish " + model + "/" + variantId + " to "
                    + describe() + ": " + e.getMessage(), e));
        } finally {
            if (staging != null) {
                deleteQuietly(staging);
            }
        }
    }

    /** A publish's staging directory, in the work directory. */
    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // left for the next cleaning of the work directory
                }
            });
        } catch (IOException ignored) {
            // the same
        }
    }

    @Override
    public void recordUnreached(String model, String tier, UnreachedTarget record) {
        String key = prefix + StoreNames.check(model) + "/unreached/" + record.method() + "-" + tier + "-" + record.runtime().key()
                + ".json";
        try {
            s3.putObject(put -> put.bucket(bucket).key(key).contentType("application/json"),
                    RequestBody.fromBytes(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record)));
        } catch (IOException | SdkException e) {
            throw new UncheckedIOException(new IOException("cannot record " + key + ": " + e.getMessage(), e));
        }
    }

    /**
     * Nothing to remove: an interrupted publish leaves at most a model file without a manifest, which is never listed
     * as a variant, and a later publish of the same id overwrites it.
     */
    @Override
    public int removeAbandonedStaging(String model, long minAgeMillis) {
        return 0;
    }

    // ---- the tier change log --------------------------------------------------------------------------------

    /** The table folded from the log, the last key in it, and the changes refused at their place in it. */
    private record Fold(TierTable table, String lastKey, Map<String, RejectedTierChange> refused) {
    }

    private Fold fold(String model) {
        TierTable table = TierTable.empty();
        String lastKey = "";
        Map<String, RejectedTierChange> refused = new HashMap<>();
        List<S3Object> changes = new ArrayList<>(list(StoreNames.check(model) + "/" + TIERS_DIR));
        changes.sort(Comparator.comparing(S3Object::key));
        for (S3Object object : changes) {
            TierChange change;
            try {
                change = read(object, TierChange.class);
            } catch (IOException e) {
                continue; // not a change of ours
            }
            try {
                table = change.applyTo(table);
            } catch (RejectedTierChange e) {
                refused.put(object.key(), e);
            }
            lastKey = object.key().substring(object.key().lastIndexOf('/') + 1);
        }
        return new Fold(table, lastKey, refused);
    }

    /**
     * A key after {@code lastKey} (so that a change sorts after every change its writer saw) and after every key this
     * process made before: the time in milliseconds, then a random part that keeps keys of simultaneous writers apart.
     */
    private static String changeKey(String lastKey) {
        long now = Instant.now().toEpochMilli();
        if (lastKey.length() >= 13) {
            try {
                now = Math.max(now, Long.parseLong(lastKey.substring(0, 13)) + 1);
            } catch (NumberFormatException ignored) {
                // a foreign key: ordered by time alone
            }
        }
        return String.format("%013d-%s", now, UUID.randomUUID().toString().substring(0, 8));
    }

    // ---- S3 ----------------------------------------------------------------------------------------------

    private String key(String model, String variantId, String file) {
        return prefix + StoreNames.check(model) + "/" + StoreNames.check(variantId) + "/" + file;
    }

    private List<S3Object> list(String under) {
        try {
            return s3.listObjectsV2Paginator(list -> list.bucket(bucket).prefix(prefix + under)).contents().stream()
                    .toList();
        } catch (SdkException e) {
            throw new UncheckedIOException(new IOException("cannot list " + describe() + under + ": "
                    + e.getMessage(), e));
        }
    }

    /** A 412 from a PUT with If-None-Match: the object exists. */
    private static final class PreconditionFailed extends Exception {
        PreconditionFailed(S3Exception cause) {
            super(cause.getMessage(), cause);
        }
    }

    private void putIfAbsent(String key, byte[] bytes) throws PreconditionFailed {
        try {
            s3.putObject(put -> put.bucket(bucket).key(key).ifNoneMatch("*").contentType("application/json"),
                    RequestBody.fromBytes(bytes));
        } catch (S3Exception e) {
            if (e.statusCode() == 412) {
                throw new PreconditionFailed(e);
            }
            throw e;
        }
    }

    private boolean exists(String key) {
        try {
            s3.headObject(head -> head.bucket(bucket).key(key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    @SuppressWarnings("unchecked")
    private <T> T read(S3Object object, Class<T> type) throws IOException {
        Cached<?> cached = parsed.get(object.key());
        if (cached != null && cached.etag().equals(object.eTag()) && type.isInstance(cached.value())) {
            return (T) cached.value();
        }
        byte[] bytes;
        try {
            bytes = s3.getObjectAsBytes(get -> get.bucket(bucket).key(object.key())).asByteArray();
        } catch (NoSuchKeyException e) {
            throw new IOException("gone: " + object.key(), e);
        } catch (SdkException e) {
            throw new UncheckedIOException(new IOException("cannot read " + object.key() + ": " + e.getMessage(), e));
        }
        T value = JSON.readValue(bytes, type);
        parsed.put(object.key(), new Cached<>(object.eTag(), value));
        return value;
    }

    /** Closes the S3 client. */
    public void close() {
        s3.close();
    }

    /**
     * Configuration of an S3 store. Credentials come from the AWS SDK's default chain (the environment variables
     * {@code AWS_ACCESS_KEY_ID} and {@code AWS_SECRET_ACCESS_KEY}, system properties, profiles, container and instance
     * credentials).
     */
    public static final class Builder {
        private final String bucket;
        private final String prefix;
        private URI endpoint;
        private String region = "us-east-1";
        private Path cacheDir = Path.of("variant-cache");
        private long cacheMaxBytes = 8L << 30;
        private Path workDir = Path.of("store-work");
        private Duration leaseTtl = Duration.ofSeconds(30);
        private Duration leaseSettle = Duration.ofSeconds(2);

        private Builder(String location) {
            if (!isS3(location) || location.length() == SCHEME.length()) {
                throw new IllegalArgumentException("an S3 store location is s3://<bucket>[/<prefix>], got '"
                        + location + "'");
            }
            String rest = location.substring(SCHEME.length());
            int slash = rest.indexOf('/');
            bucket = slash < 0 ? rest : rest.substring(0, slash);
            String path = slash < 0 ? "" : rest.substring(slash + 1);
            prefix = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
            if (bucket.isEmpty()) {
                throw new IllegalArgumentException("no bucket in '" + location + "'");
            }
        }

        /** An S3-compatible server instead of AWS (path-style addressing), e.g. {@code http://minio:9000}. */
        public Builder endpoint(URI endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        public Builder region(String region) {
            this.region = region;
            return this;
        }

        /** Where downloaded model files are kept, and how many bytes of them at most. */
        public Builder cache(Path dir, long maxBytes) {
            this.cacheDir = dir;
            this.cacheMaxBytes = maxBytes;
            return this;
        }

        /** A local directory for this process' own files (latency tables, job records). */
        public Builder workDir(Path workDir) {
            this.workDir = workDir;
            return this;
        }

        /**
         * How long a job's or tier's lease lasts without renewal (30 s: a dead worker's job is taken over after it),
         * and how long a claim waits before it counts (2 s: longer than the workers' clocks may differ).
         */
        public Builder leases(Duration ttl, Duration settle) {
            this.leaseTtl = ttl;
            this.leaseSettle = settle;
            return this;
        }

        public S3VariantStore build() {
            S3ClientBuilder client = S3Client.builder().region(Region.of(region))
                    .httpClient(UrlConnectionHttpClient.create())
                    .credentialsProvider(DefaultCredentialsProvider.builder().build());
            if (endpoint != null) {
                client.endpointOverride(endpoint).forcePathStyle(true);
            }
            return new S3VariantStore(client.build(), bucket, prefix, new VariantCache(cacheDir, cacheMaxBytes),
                    workDir, leaseTtl, leaseSettle);
        }
    }
}
