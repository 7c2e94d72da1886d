package dev.tierserve.gateway.rollout;

import dev.tierserve.gateway.tier.Tier;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.store.RejectedTierChange;
import dev.tierserve.store.RolloutAction;
import dev.tierserve.store.RolloutEvent;
import dev.tierserve.store.StoredVariant;
import dev.tierserve.store.TierChange;
import dev.tierserve.store.TierTable;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Changes to a tier's rollout, by an admin or the judge: each is one {@link TierChange} applied by the store to the
 * model's tier table (state and history together), after which the catalog is re-read so that the next request is
 * routed by it. Reads and writes the store: never on a gRPC thread.
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
        TierTable.Assignment now = catalog.of(model).table().assignment(name);
        if (!variant.equals(now.canary()) && !variant.equals(now.stable())) {
            evidence.reset(model, name); // a new canary is judged on what happens from now on
        }
        return change(model, new TierChange.Canary(name, variant, weight, actor, reason, now()));
    }

    public State setShadow(String model, String tier, double rate, String actor, String reason) {
        String name = speedupTier(tier);
        requireShare("sample rate", rate);
        requireModel(model);
        return change(model, new TierChange.Shadow(name, rate, actor,
                reason.isEmpty() ? "shadow sample rate " + rate : reason, now()));
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
        if (action != RolloutAction.PROMOTE && action != RolloutAction.ROLLBACK) {
            throw new IllegalArgumentException(action + " does not end a rollout");
        }
        String name = speedupTier(tier);
        requireModel(model);
        State state = change(model, new TierChange.End(name, expectedCanary, action, actor, reason, values, now()));
        RolloutEvent last = state.history().get(state.history().size() - 1);
        LOG.infof("rollout %s/%s: %s %s (%s: %s)", model, name, last.variant(),
                action == RolloutAction.PROMOTE ? "promoted to stable" : "rolled back", actor, reason);
        return state;
    }

    /** The judge's verdict on a canary that did not end its rollout: its new weight and failed-check count. */
    public State judged(String model, String tier, String expectedCanary, double weight, int failedChecks,
                        RolloutAction action, String reason, Map<String, Double> values) {
        return change(model, new TierChange.Judged(tier, expectedCanary, weight, failedChecks, action, reason, values,
                now()));
    }

    private State change(String model, TierChange change) {
        TierTable table;
        try {
            table = catalog.store().updateTiers(model, change);
        } catch (RejectedTierChange e) {
            Status status = switch (e.reason()) {
                case ALREADY_STABLE, NO_CANARY -> Status.FAILED_PRECONDITION;
                case CANARY_CHANGED -> Status.ABORTED;
            };
            throw status.withDescription("model '" + model + "': " + e.getMessage()).asRuntimeException();
        }
        catalog.refresh(model);
        return state(model, change.tier(), table);
    }

    private static State state(String model, String tier, TierTable table) {
        return new State(model, tier, table.assignment(tier),
                table.history().stream().filter(e -> e.tier().equals(tier)).toList());
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

    private static String now() {
        return Instant.now().toString();
    }
}
