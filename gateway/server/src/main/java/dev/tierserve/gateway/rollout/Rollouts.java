package dev.tierserve.gateway.rollout;

import dev.tierserve.compressor.store.RolloutAction;
import dev.tierserve.compressor.store.RolloutEvent;
import dev.tierserve.compressor.store.StoredVariant;
import dev.tierserve.compressor.store.TierTable;
import dev.tierserve.gateway.tier.Tier;
import dev.tierserve.gateway.tier.VariantCatalog;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.jboss.logging.Logger;

/**
 * Changes to a tier's rollout, by an admin or the judge: each is one read-modify-write of the model's
 * {@code tiers.json} (state and history together, under the store's lock, one atomic rename), after which the
 * catalog is re-read so that the next request is routed by it. Reads and writes the store: never on a gRPC thread.
 */
@ApplicationScoped
public class Rollouts {

    private static final Logger LOG = Logger.getLogger(Rollouts.class);

    /** A tier's rollout now, with its history (oldest first). */
    public record State(String model, String tier, TierTable.Assignment assignment, List<RolloutEvent> history) {
    }

    private final VariantCatalog catalog;
    private final CanaryEvidence evidence;

    Rollouts(VariantCatalog catalog, CanaryEvidence evidence) {
        this.catalog = catalog;
        this.evidence = evidence;
    }

    public State state(String model, String tier) {
        String name = speedupTier(tier);
        TierTable table = catalog.refresh(requireModel(model)).table();
        return state(model, name, table);
    }

    /** Makes {@code variant} the tier's canary at {@code weight} (its judgement starts over). */
    public State setCanary(String model, String tier, String variant, double weight, String actor, String reason) {
        String name = speedupTier(tier);
        requireShare("weight", weight);
        StoredVariant canary = catalog.refresh(requireModel(model)).byId(variant).orElseThrow(() ->
                Status.NOT_FOUND.withDescription("model '" + model + "' has no variant '" + variant + "'")
                        .asRuntimeException());
        // As in the planner, a variant built for a faster tier may answer a slower one; never the other way round.
        if (canary.manifest().targetSpeedup() < Tier.parse(name).speedup()) {
            throw Status.INVALID_ARGUMENT.withDescription("variant '" + variant + "' was built for tier "
                    + canary.tier() + ", slower than " + name).asRuntimeException();
        }
        return change(model, name, table -> {
            TierTable.Assignment old = assignment(table, name);
            if (variant.equals(old.stable())) {
                throw Status.FAILED_PRECONDITION.withDescription("variant '" + variant + "' is already the stable "
                        + "variant of tier " + name).asRuntimeException();
            }
            boolean sameCanary = variant.equals(old.canary());
            if (!sameCanary) {
                evidence.reset(model, name); // a new canary is judged on what happens from now on
            }
            TierTable.Assignment next = sameCanary ? old.withWeight(weight, old.failedChecks())
                    : old.withCanary(variant, weight, old.shadowRate());
            return table.with(name, next).recording(event(name, sameCanary ? RolloutAction.WEIGHT
                    : RolloutAction.CANARY, variant, old.canaryWeight(), weight, actor, reason, Map.of()));
        });
    }

    public State setShadow(String model, String tier, double rate, String actor, String reason) {
        String name = speedupTier(tier);
        requireShare("sample rate", rate);
        requireModel(model);
        return change(model, name, table -> {
            TierTable.Assignment old = assignment(table, name);
            return table.with(name, old.withShadowRate(rate)).recording(event(name, RolloutAction.SHADOW,
                    old.canary(), old.canaryWeight(), old.canaryWeight(), actor,
                    reason.isEmpty() ? "shadow sample rate " + rate : reason, Map.of("shadow_rate", rate)));
        });
    }

    public State promote(String model, String tier, String actor, String reason, Map<String, Double> values) {
        return end(model, tier, null, RolloutAction.PROMOTE, actor, reason, values);
    }

    public State rollback(String model, String tier, String actor, String reason, Map<String, Double> values) {
        return end(model, tier, null, RolloutAction.ROLLBACK, actor, reason, values);
    }

    /**
     * Ends the tier's rollout ({@code PROMOTE}: the canary becomes stable; {@code ROLLBACK}: it is removed) if its
     * canary is still {@code expectedCanary} (null: whichever it is), so that the judge never acts on a canary an admin
     * replaced while it judged.
     */
    public State end(String model, String tier, String expectedCanary, RolloutAction action, String actor,
                     String reason, Map<String, Double> values) {
        boolean promote = switch (action) {
            case PROMOTE -> true;
            case ROLLBACK -> false;
            default -> throw new IllegalArgumentException(action + " does not end a rollout");
        };
        String name = speedupTier(tier);
        requireModel(model);
        return change(model, name, table -> {
            TierTable.Assignment old = requireCanary(table, model, name, expectedCanary);
            LOG.infof("rollout %s/%s: %s %s (%s: %s)", model, name, old.canary(),
                    promote ? "promoted to stable" : "rolled back", actor, reason);
            // A promoted variant answers the whole tier: weight 1 after.
            return table.with(name, promote ? old.promoted() : old.rolledBack()).recording(event(name, action,
                    old.canary(), old.canaryWeight(), promote ? 1 : 0, actor, reason, values));
        });
    }

    /** The judge's verdict on a canary that did not end its rollout: its new weight and failed-check count. */
    public State judged(String model, String tier, String expectedCanary, double weight, int failedChecks,
                        RolloutAction action, String reason, Map<String, Double> values) {
        return change(model, tier, table -> {
            TierTable.Assignment old = requireCanary(table, model, tier, expectedCanary);
            return table.with(tier, old.withWeight(weight, failedChecks)).recording(event(tier, action,
                    old.canary(), old.canaryWeight(), weight, "judge", reason, values));
        });
    }

    private State change(String model, String tier, UnaryOperator<TierTable> change) {
        TierTable table = catalog.store().updateTiers(model, change);
        catalog.refresh(model);
        return state(model, tier, table);
    }

    private static State state(String model, String tier, TierTable table) {
        return new State(model, tier, assignment(table, tier),
                table.history().stream().filter(e -> e.tier().equals(tier)).toList());
    }

    private static TierTable.Assignment assignment(TierTable table, String tier) {
        return Optional.ofNullable(table.get(tier)).orElse(new TierTable.Assignment(null, null, 0, 0, 0));
    }

    private static TierTable.Assignment requireCanary(TierTable table, String model, String tier,
                                                      String expectedCanary) {
        TierTable.Assignment old = assignment(table, tier);
        if (!old.hasCanary()) {
            throw Status.FAILED_PRECONDITION.withDescription("tier " + tier + " of model '" + model
                    + "' has no canary").asRuntimeException();
        }
        if (expectedCanary != null && !expectedCanary.equals(old.canary())) {
            throw Status.ABORTED.withDescription("tier " + tier + " of model '" + model + "' now has canary "
                    + old.canary() + ", not " + expectedCanary).asRuntimeException();
        }
        return old;
    }

    private String requireModel(String model) {
        if (!catalog.models().contains(model)) {
            throw Status.NOT_FOUND.withDescription("no model '" + model + "' with variants; models: "
                    + catalog.models()).asRuntimeException();
        }
        return model;
    }

    /** The canonical name of a speedup tier; exact and auto have no rollout. */
    private static String speedupTier(String tier) {
        Tier parsed = Tier.parse(tier);
        if (parsed.equals(Tier.EXACT) || parsed.equals(Tier.AUTO)) {
            throw Status.INVALID_ARGUMENT.withDescription("tier '" + tier + "' has no rollout: only a speedup tier "
                    + "(such as 2x) has variants").asRuntimeException();
        }
        return parsed.name();
    }

    private static void requireShare(String what, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw Status.INVALID_ARGUMENT.withDescription(what + " must be a share in [0, 1], got " + value)
                    .asRuntimeException();
        }
    }

    private static RolloutEvent event(String tier, RolloutAction action, String variant, double from, double to,
                                      String actor, String reason, Map<String, Double> values) {
        return new RolloutEvent(Instant.now().toString(), tier, action, variant, from, to, actor, reason, values);
    }
}
