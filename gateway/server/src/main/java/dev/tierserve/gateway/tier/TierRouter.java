package dev.tierserve.gateway.tier;

import dev.tierserve.compressor.store.StoredVariant;
import dev.tierserve.gateway.repository.ModelEntry;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Chooses which variant of a model answers a request. {@code exact} (and {@code auto}, for now) is the parent
 * model; a speedup tier is the variant the store assigns to it. A tier with no variant yet is answered now by the
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
        Tier tier = requested == null || requested.equals(Tier.AUTO) ? Tier.EXACT : requested;
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
