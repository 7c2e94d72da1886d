package dev.tierserve.gateway.tier;

import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.store.StoredVariant;
import dev.tierserve.store.TierTable;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Chooses which variant of a model answers a request. {@code exact} is the parent model, {@code auto} the most
 * accurate tier predicted to meet the request's deadline ({@link #routeAuto}); a speedup tier is the variant the store assigns to it. A tier with no variant yet is answered now by the
 * fastest ready tier that is not faster than asked, or {@code exact}, marked {@code degraded_from} (the caller
 * starts its compression job once the request proved valid); with {@code strict_tier} the route is a
 * {@link TierNotReadyException}. {@code model_version} pins a tier or a variant
 * id. Routing reads the catalog's last snapshot only: no I/O, no waiting, no side effects.
 */
@ApplicationScoped
public class TierRouter {

    /** The variant id of the unmodified parent model, which serves the exact tier. */
    public static final String PARENT_VARIANT = "parent";

    private final VariantCatalog catalog;

    TierRouter(VariantCatalog catalog) {
        this.catalog = catalog;
    }

    /** The tiers with something to serve, {@code exact} first, then slowest to fastest. */
    public List<String> tiers(ModelEntry model) {
        List<String> tiers = new ArrayList<>();
        tiers.add(Tier.EXACT.name());
        tiers.addAll(catalog.of(model.sessionKey()).readyTiers());
        return tiers;
    }

    /** The session key serving a tier name (for statistics), or null when the tier has no variant. */
    public String sessionKey(ModelEntry model, String tier) {
        if (tier.equals(Tier.EXACT.name())) {
            return model.sessionKey();
        }
        return catalog.of(model.sessionKey()).forTier(tier)
                .map(v -> new VariantKey(v.model(), v.id()).sessionKey()).orElse(null);
    }

    /**
     * @param requested the request's tier, or null when it named none
     * @param version   the request's model_version ("" for any): a tier name or a variant id
     * @param strict    fail instead of answering from a slower tier
     */
    public TierRoute route(ModelEntry model, Tier requested, String version, boolean strict) {
        VariantCatalog.Snapshot variants = catalog.of(model.sessionKey());
        if (!version.isEmpty()) {
            return pinned(model, variants, version);
        }
        Tier tier = requested == null || requested.equals(Tier.AUTO) ? Tier.EXACT : requested; // see routeAuto
        if (tier.equals(Tier.EXACT)) {
            return exact(model, null);
        }
        Optional<StoredVariant> variant = variants.forTier(tier.name());
        if (variant.isPresent()) {
            return to(variant.get(), tier, null);
        }
        if (strict) {
            throw new TierNotReadyException(model.name(), tier);
        }
        // The fastest ready tier that is not faster than asked.
        String fallback = null;
        for (String ready : variants.readyTiers()) {
            if (Tier.parse(ready).speedup() < tier.speedup()) {
                fallback = ready;
            }
        }
        if (fallback == null) {
            return exact(model, tier.name());
        }
        return to(variants.forTier(fallback).orElseThrow(), Tier.parse(fallback), tier.name());
    }

    /** Whether the route's tier has a canary now: only then is what its requests did evidence for a judgement. */
    public boolean inRollout(ModelEntry model, TierRoute route) {
        if (route.served().equals(Tier.EXACT)) {
            return false;
        }
        TierTable.Assignment assigned = catalog.of(model.sessionKey()).table().get(route.served().name());
        return assigned != null && assigned.hasCanary();
    }

    /**
     * The route with the served tier's canary in place of its stable variant when the tier has a canary serving a
     * share of its requests and {@code routingKey} falls in that share ({@link StickySplit}). {@code exact} has no
     * canary. A request without a routing key is placed at random.
     *
     * @param routingKey the request's routing key, or null when it has none
     */
    public TierRoute rollout(ModelEntry model, TierRoute route, String routingKey) {
        if (route.served().equals(Tier.EXACT)) {
            return route;
        }
        VariantCatalog.Snapshot variants = catalog.of(model.sessionKey());
        TierTable.Assignment assigned = variants.table().get(route.served().name());
        if (assigned == null || !assigned.hasCanary() || assigned.canaryWeight() <= 0
                || !route.variantId().equals(assigned.stable())) {
            return route;
        }
        Optional<StoredVariant> canary = variants.byId(assigned.canary());
        if (canary.isEmpty()) {
            return route;
        }
        boolean onCanary = routingKey == null
                ? java.util.concurrent.ThreadLocalRandom.current().nextDouble() < assigned.canaryWeight()
                : StickySplit.onCanary(model.sessionKey(), route.served().name(), assigned.canary(), routingKey,
                        assigned.canaryWeight());
        return onCanary ? route.toCanary(canary.get().id(), new VariantKey(canary.get().model(),
                canary.get().id()).sessionKey()) : route;
    }

    /**
     * Predicted load above which a tier does not fit however short its compute. Past 1 requests arrive faster than the
     * workers serve them and the queue grows until deadlines fail; below it, Poisson bursts still queue, and on BGE at
     * 1.5x exact's capacity 0.85 let 3% of requests miss a 2x-p50 deadline where 0.7 kept it to 0.2%
     * (gateway/README.md).
     */
    static final double MAX_LOAD = 0.7;

    /**
     * {@code tier=auto}: the most accurate ready tier (by the manifests' mean cosine; {@code exact} is the most
     * accurate) that fits: its predicted completion, queue wait plus compute at its 95th percentile, fits the time
     * left, and the model's recent arrivals, each served by this tier at its median compute time, would keep the
     * workers at most {@link #MAX_LOAD} busy. None fitting, the fastest ready tier, marked
     * {@link TierRoute#slaMissPredicted}. A tier with no recent latency is predicted from {@code exact}'s over its
     * measured speedup; with nothing recorded at all, {@code exact}. Never waits for a tier that is not built.
     *
     * @param remainingNanos the request's time left (its deadline, else the model's default SLA); null: none
     * @param batch          the request's batch size
     */
    public TierRoute routeAuto(ModelEntry model, Long remainingNanos, long batch, CompletionPredictor predictor) {
        TierRoute exact = exact(model, null);
        if (remainingNanos == null) {
            return exact;
        }
        OptionalLong exactTail = predictor.computeNanos(exact.sessionKey(), batch, TAIL);
        OptionalLong exactMedian = predictor.computeNanos(exact.sessionKey(), batch, 50);
        if (exactTail.isEmpty() || exactMedian.isEmpty()) {
            return exact; // nothing recorded yet: nothing to predict from
        }
        long queue = predictor.queueWaitNanos();
        double arrivals = predictor.arrivalsPerWorkerSecond();
        if (fits(queue, exactTail.getAsLong(), exactMedian.getAsLong(), arrivals, remainingNanos)) {
            return exact;
        }
        VariantCatalog.Snapshot variants = catalog.of(model.sessionKey());
        List<StoredVariant> byAccuracy = new ArrayList<>();
        for (String tier : variants.readyTiers()) {
            variants.forTier(tier).ifPresent(byAccuracy::add);
        }
        byAccuracy.sort(Comparator.comparingDouble((StoredVariant v) -> quality(v)).reversed());
        TierRoute fastest = exact;
        double fastestSpeedup = 1;
        for (StoredVariant variant : byAccuracy) {
            TierRoute route = to(variant, Tier.parse(variant.tier()), null);
            double speedup = variant.manifest().measuredSpeedup();
            long tail = predict(predictor.computeNanos(route.sessionKey(), batch, TAIL), exactTail, speedup);
            long median = predict(predictor.computeNanos(route.sessionKey(), batch, 50), exactMedian, speedup);
            if (fits(queue, tail, median, arrivals, remainingNanos)) {
                return route;
            }
            if (speedup > fastestSpeedup) {
                fastest = route;
                fastestSpeedup = speedup;
            }
        }
        return fastest.missingSla();
    }

    /** The compute percentile auto plans a request's completion with. */
    static final double TAIL = 95;

    private static boolean fits(long queue, long tail, long median, double arrivalsPerWorkerSecond,
                                long remainingNanos) {
        return queue + tail <= remainingNanos && arrivalsPerWorkerSecond * median / 1e9 <= MAX_LOAD;
    }

    /** A tier's recorded compute time, else exact's over the tier's measured speedup. */
    private static long predict(OptionalLong recorded, OptionalLong exact, double speedup) {
        if (recorded.isPresent()) {
            return recorded.getAsLong();
        }
        return speedup > 0 ? (long) (exact.getAsLong() / speedup) : Long.MAX_VALUE;
    }

    private static double quality(StoredVariant variant) {
        return Double.isNaN(variant.meanCosine()) ? -1 : variant.meanCosine();
    }

    private TierRoute pinned(ModelEntry model, VariantCatalog.Snapshot variants, String version) {
        if (version.equals(Tier.EXACT.name()) || version.equals(PARENT_VARIANT)) {
            return exact(model, null);
        }
        Optional<StoredVariant> variant = variants.byId(version).or(() -> variants.forTier(version));
        if (variant.isEmpty()) {
            List<String> versions = new ArrayList<>(tiers(model));
            variants.variants().forEach(v -> versions.add(v.id()));
            throw Status.NOT_FOUND.withDescription("model '" + model.name() + "' has no version '" + version
                    + "'; versions: " + versions).asRuntimeException();
        }
        return to(variant.get(), Tier.parse(variant.get().tier()), null);
    }

    private static TierRoute exact(ModelEntry model, String degradedFrom) {
        return new TierRoute(Tier.EXACT, PARENT_VARIANT, model.sessionKey(), degradedFrom);
    }

    private static TierRoute to(StoredVariant variant, Tier tier, String degradedFrom) {
        return new TierRoute(tier, variant.id(), new VariantKey(variant.model(), variant.id()).sessionKey(),
                degradedFrom);
    }
}
