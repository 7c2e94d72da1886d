package dev.tierserve.gateway.tier;

import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelKind;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.store.S3VariantStore;
import dev.tierserve.store.StoredVariant;
import dev.tierserve.store.TierTable;
import dev.tierserve.store.VariantStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The gateway's view of the variant store: per model of the repository, the published variants and the tier table,
 * read at start-up and re-read every watch interval on a background thread, so that a variant published by any
 * process is served without a restart. Requests only read the last snapshot: the store's files are never touched on
 * a gRPC thread.
 */
@Startup
@ApplicationScoped
public class VariantCatalog {

    private static final Logger LOG = Logger.getLogger(VariantCatalog.class);

    /** One model's published variants and tier table, as last read. */
    public record Snapshot(List<StoredVariant> variants, TierTable table) {

        static final Snapshot EMPTY = new Snapshot(List.of(), TierTable.empty());

        public Optional<StoredVariant> byId(String id) {
            return variants.stream().filter(v -> v.id().equals(id)).findFirst();
        }

        /** The variant answering {@code tier}: tiers.json's stable one, else the most accurate built for it. */
        public Optional<StoredVariant> forTier(String tier) {
            TierTable.Assignment assigned = table.get(tier);
            if (assigned != null && assigned.stable() != null) {
                Optional<StoredVariant> stable = byId(assigned.stable());
                if (stable.isPresent()) {
                    return stable;
                }
            }
            return variants.stream().filter(v -> v.tier().equals(tier))
                    .max(Comparator.comparingDouble(v -> Double.isNaN(v.meanCosine()) ? -1 : v.meanCosine()));
        }

        Snapshot without(String id) {
            return new Snapshot(variants.stream().filter(v -> !v.id().equals(id)).toList(), table);
        }

        /** Tier names with a variant, slowest first. */
        public List<String> readyTiers() {
            return variants.stream().map(v -> v.manifest().targetSpeedup()).distinct().sorted()
                    .map(dev.tierserve.store.TierNames::format).filter(t -> forTier(t).isPresent()).toList();
        }
    }

    private final VariantStore store;
    private final Map<String, Snapshot> snapshots = new ConcurrentHashMap<>();
    /** Variants whose files failed their checksum, by model, id and manifest checksum, with the reason. */
    private final Map<String, String> refused = new ConcurrentHashMap<>();
    private final Counter refusals;
    private final ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "variant-store-watch");
        thread.setDaemon(true);
        return thread;
    });

    @Inject
    public VariantCatalog(GatewayConfig config, ModelRepository repository, MeterRegistry meters) {
        this(open(config.variants()), repository.models().stream()
                .filter(m -> m.kind() == ModelKind.ONNX).map(ModelEntry::name).toList(),
                config.variants().watchInterval(), meters);
    }

    /** A catalog of {@code models} in {@code store}, re-read every {@code watchInterval}. */
    VariantCatalog(VariantStore store, List<String> models, java.time.Duration watchInterval, MeterRegistry meters) {
        this.store = store;
        this.refusals = meters.counter("gateway.variants.refused");
        LOG.infof("variant store %s, re-read every %s", store.describe(), watchInterval);
        for (String model : models) {
            snapshots.put(model, readOrEmpty(model));
        }
        long every = Math.max(50, watchInterval.toMillis());
        watcher.scheduleWithFixedDelay(this::refreshAll, every, every, TimeUnit.MILLISECONDS);
    }

    /** The store the configuration names: a directory, or an S3 location with its settings. */
    static VariantStore open(GatewayConfig.Variants config) {
        if (!S3VariantStore.isS3(config.store())) {
            return VariantStore.filesystem(Path.of(config.store()));
        }
        GatewayConfig.Variants.S3 s3 = config.s3();
        S3VariantStore.Builder builder = S3VariantStore.builder(config.store()).region(s3.region())
                .cache(s3.cacheDir(), s3.cacheMaxBytes()).workDir(s3.workDir());
        s3.endpoint().ifPresent(builder::endpoint);
        return builder.build();
    }

    public VariantStore store() {
        return store;
    }

    /** The models whose variants are watched: the repository's ONNX models, by name. */
    public List<String> models() {
        return snapshots.keySet().stream().sorted().toList();
    }

    /** The last snapshot read of {@code model}'s variants; empty for a model outside the repository. */
    public Snapshot of(String model) {
        return snapshots.getOrDefault(model, Snapshot.EMPTY);
    }

    /**
     * Re-reads one model now (after a job ends, so that the next request sees its variant). Reads the store: never on
     * a gRPC thread.
     */
    public Snapshot refresh(String model) {
        Snapshot fresh = read(model);
        Snapshot old = snapshots.put(model, fresh);
        if (old != null) {
            for (StoredVariant variant : fresh.variants()) {
                if (old.byId(variant.id()).isEmpty()) {
                    LOG.infof("new variant %s/%s for tier %s (measured %.2fx)", model, variant.id(), variant.tier(),
                            variant.manifest().measuredSpeedup());
                }
            }
        }
        return fresh;
    }

    /** The model file of a variant, its checksum verified (a corrupt variant never loads). Reads the store. */
    public Path verifiedModelFile(VariantKey key) {
        StoredVariant variant = of(key.model()).byId(key.variantId()).or(() -> refresh(key.model()).byId(key.variantId()))
                .orElseThrow(() -> new IllegalStateException("variant " + key.sessionKey() + " is not in the store"));
        return store.verifiedModelFile(variant);
    }

    /**
     * Takes a variant whose files fail their checksum out of service: from now on its tier is answered as if it had
     * no such variant (a slower tier, or {@code exact}, marked {@code degraded_from}), until a variant with another
     * checksum is published under its id. Logged as an error and counted ({@code gateway.variants.refused}).
     */
    public void refuse(VariantKey key, String reason) {
        of(key.model()).byId(key.variantId()).ifPresent(variant -> {
            if (refused.put(fingerprint(variant), reason) == null) {
                LOG.errorf("variant %s refused, its tier %s falls back: %s", key.sessionKey(), variant.tier(), reason);
                refusals.increment();
            }
            snapshots.computeIfPresent(key.model(), (model, snapshot) -> snapshot.without(variant.id()));
        });
    }

    private static String fingerprint(StoredVariant variant) {
        return variant.model() + "/" + variant.id() + "/" + variant.manifest().sha256();
    }

    private void refreshAll() {
        for (String model : List.copyOf(snapshots.keySet())) {
            try {
                refresh(model);
            } catch (RuntimeException e) {
                LOG.warnf("cannot read variants of %s: %s", model, e.getMessage());
            }
        }
    }

    private Snapshot readOrEmpty(String model) {
        try {
            return read(model);
        } catch (RuntimeException e) {
            LOG.warnf("cannot read variants of %s: %s", model, e.getMessage());
            return Snapshot.EMPTY;
        }
    }

    private Snapshot read(String model) {
        List<StoredVariant> variants = store.variants(model).stream()
                .filter(variant -> !refused.containsKey(fingerprint(variant))).toList();
        return variants.isEmpty() ? Snapshot.EMPTY : new Snapshot(variants, store.tiers(model));
    }

    @PreDestroy
    void stop() {
        watcher.shutdownNow();
    }
}
