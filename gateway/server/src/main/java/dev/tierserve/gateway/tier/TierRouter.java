package dev.tierserve.gateway.tier;

import dev.tierserve.gateway.repository.ModelEntry;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;

/**
 * Chooses which variant of a model answers a request. Until compressed variants exist only {@code exact} does:
 * {@code auto} resolves to it, and any speedup tier is NOT_FOUND naming the tiers that exist.
 */
@ApplicationScoped
public class TierRouter {

    /** The variant id of the unmodified parent model, which serves the exact tier. */
    public static final String PARENT_VARIANT = "parent";

    public List<String> tiers(ModelEntry model) {
        return List.of(Tier.EXACT.name());
    }

    /**
     * @param requested the request's tier, or null when it named none
     * @param version   the request's model_version ("" for any)
     */
    public TierRoute route(ModelEntry model, Tier requested, String version) {
        if (!version.isEmpty() && !tiers(model).contains(version) && !version.equals(PARENT_VARIANT)) {
            throw Status.NOT_FOUND.withDescription("model '" + model.name() + "' has no version '" + version
                    + "'; versions: " + tiers(model)).asRuntimeException();
        }
        Tier tier = requested == null ? Tier.EXACT : requested;
        if (!tier.equals(Tier.EXACT) && !tier.equals(Tier.AUTO)) {
            throw Status.NOT_FOUND.withDescription("tier '" + tier + "' does not exist for model '" + model.name()
                    + "'; tiers: " + tiers(model)).asRuntimeException();
        }
        return new TierRoute(Tier.EXACT, PARENT_VARIANT, model.sessionKey());
    }
}
