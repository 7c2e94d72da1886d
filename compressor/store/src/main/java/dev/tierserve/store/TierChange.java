package dev.tierserve.store;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.util.Map;

/**
 * One change of a model's tier table, as data: the store applies it to the table it holds. A filesystem store applies
 * it under a lock; an S3 store appends it to the model's change log (no read-modify-write, so two processes changing
 * tiers at once never lose each other's change) and every reader folds the log in order. A change whose
 * precondition no longer holds when it is applied is refused with a {@link RejectedTierChange}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "change")
@JsonSubTypes({
        @JsonSubTypes.Type(value = TierChange.Published.class, name = "published"),
        @JsonSubTypes.Type(value = TierChange.Stable.class, name = "stable"),
        @JsonSubTypes.Type(value = TierChange.Canary.class, name = "canary"),
        @JsonSubTypes.Type(value = TierChange.Shadow.class, name = "shadow"),
        @JsonSubTypes.Type(value = TierChange.End.class, name = "end"),
        @JsonSubTypes.Type(value = TierChange.Judged.class, name = "judged")})
public sealed interface TierChange {

    String tier();

    /** @throws RejectedTierChange when the change's precondition does not hold on {@code table} */
    TierTable applyTo(TierTable table);

    /** A variant was published for the tier (see {@link TierTable#published}). */
    record Published(String tier, String variant, String by, String time) implements TierChange {
        @Override
        public TierTable applyTo(TierTable table) {
            return table.published(tier, variant, by, time);
        }
    }

    /** The tier is answered by {@code variant} alone (a canary being rolled out is dropped). */
    record Stable(String tier, String variant) implements TierChange {
        @Override
        public TierTable applyTo(TierTable table) {
            return table.with(tier, TierTable.Assignment.stable(variant));
        }
    }

    /** {@code variant} becomes the tier's canary at {@code weight}, or the canary's weight is set. */
    record Canary(String tier, String variant, double weight, String actor, String reason, String time)
            implements TierChange {
        @Override
        public TierTable applyTo(TierTable table) {
            TierTable.Assignment old = table.assignment(tier);
            if (variant.equals(old.stable())) {
                throw new RejectedTierChange(RejectedTierChange.Reason.ALREADY_STABLE, "variant '" + variant
                        + "' is already the stable variant of tier " + tier);
            }
            boolean sameCanary = variant.equals(old.canary());
            TierTable.Assignment next = sameCanary ? old.withWeight(weight, old.failedChecks())
                    : old.withCanary(variant, weight, old.shadowRate());
            return table.with(tier, next).recording(new RolloutEvent(time, tier, sameCanary ? RolloutAction.WEIGHT
                    : RolloutAction.CANARY, variant, old.canaryWeight(), weight, actor, reason, Map.of()));
        }
    }

    /** The share of the tier's requests compared in shadow. */
    record Shadow(String tier, double rate, String actor, String reason, String time) implements TierChange {
        @Override
        public TierTable applyTo(TierTable table) {
            TierTable.Assignment old = table.assignment(tier);
            return table.with(tier, old.withShadowRate(rate)).recording(new RolloutEvent(time, tier,
                    RolloutAction.SHADOW, old.canary(), old.canaryWeight(), old.canaryWeight(), actor, reason,
                    Map.of("shadow_rate", rate)));
        }
    }

    /**
     * The rollout ends: {@code PROMOTE} makes the canary stable, {@code ROLLBACK} removes it; only if the canary is still
     * {@code expectedCanary} (null: whichever it is), so that nobody acts on a canary replaced meanwhile.
     */
    record End(String tier, String expectedCanary, RolloutAction action, String actor, String reason,
               Map<String, Double> values, String time) implements TierChange {
        public End {
            if (action != RolloutAction.PROMOTE && action != RolloutAction.ROLLBACK) {
                throw new IllegalArgumentException(action + " does not end a rollout");
            }
        }

        @Override
        public TierTable applyTo(TierTable table) {
            TierTable.Assignment old = table.requireCanary(tier, expectedCanary);
            boolean promote = action == RolloutAction.PROMOTE;
            // A promoted variant answers the whole tier: weight 1 after.
            return table.with(tier, promote ? old.promoted() : old.rolledBack()).recording(new RolloutEvent(time,
                    tier, action, old.canary(), old.canaryWeight(), promote ? 1 : 0, actor, reason, values));
        }
    }

    /** A judgement that did not end the rollout: the canary's new weight and failed-check count. */
    record Judged(String tier, String expectedCanary, double weight, int failedChecks, RolloutAction action,
                  String reason, Map<String, Double> values, String time) implements TierChange {
        @Override
        public TierTable applyTo(TierTable table) {
            TierTable.Assignment old = table.requireCanary(tier, expectedCanary);
            return table.with(tier, old.withWeight(weight, failedChecks)).recording(new RolloutEvent(time, tier,
                    action, old.canary(), old.canaryWeight(), weight, "judge", reason, values));
        }
    }
}
