package dev.tierserve.gateway.tier;

/**
 * Where a request goes.
 *
 * @param served       the tier that answers
 * @param variantId    the variant that answers, echoed to the client
 * @param sessionKey   the session cache key of that variant
 * @param degradedFrom the tier the client asked for when a slower one answers because it was not ready; else null
 */
public record TierRoute(Tier served, String variantId, String sessionKey, String degradedFrom) {
}
