package dev.tierserve.gateway.tier;

/**
 * Where a request goes.
 *
 * @param served       the tier that answers
 * @param variantId    the variant that answers, echoed to the client
 * @param sessionKey   the session cache key of that variant
 * @param degradedFrom the tier the client asked for when a slower one answers because it was not ready; else null
 * @param slaMissPredicted {@code tier=auto} found no ready tier predicted to complete within the deadline and
 *                     answers with the fastest
 * @param canary       the variant is the served tier's canary, not its stable variant
 */
public record TierRoute(Tier served, String variantId, String sessionKey, String degradedFrom,
                        boolean slaMissPredicted, boolean canary) {

    TierRoute(Tier served, String variantId, String sessionKey, String degradedFrom) {
        this(served, variantId, sessionKey, degradedFrom, false, false);
    }

    TierRoute missingSla() {
        return new TierRoute(served, variantId, sessionKey, degradedFrom, true, canary);
    }

    TierRoute toCanary(String canaryId, String canarySessionKey) {
        return new TierRoute(served, canaryId, canarySessionKey, degradedFrom, slaMissPredicted, true);
    }
}
