package dev.tierserve.store;

import java.util.Map;

/**
 * One change of a tier's rollout, as {@code tiers.json} keeps it.
 *
 * @param time       ISO-8601
 * @param tier       the tier that changed
 * @param action     what changed (see {@link RolloutAction})
 * @param variant    the canary (or the variant promoted) it concerns
 * @param fromWeight the canary weight before
 * @param toWeight   the canary weight after
 * @param actor      who: {@code admin} for an admin call, {@code judge} for the automatic judgement,
 *                   {@code compressor} for a publish
 * @param reason     why, in words (for a failed judgement: the failing check and its values)
 * @param values     the figures the decision was made on (error rates, p99s, agreement), by name
 */
public record RolloutEvent(String time, String tier, RolloutAction action, String variant, double fromWeight,
                           double toWeight, String actor, String reason, Map<String, Double> values) {

    public RolloutEvent {
        values = values == null ? Map.of() : Map.copyOf(values);
    }
}
