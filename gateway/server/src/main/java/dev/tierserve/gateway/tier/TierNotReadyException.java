package dev.tierserve.gateway.tier;

/**
 * A strict request asked for a tier that has no variant yet. Thrown by {@link TierRouter#route}, which has no side
 * effects: the caller starts the tier's job and answers UNAVAILABLE naming it.
 */
public final class TierNotReadyException extends RuntimeException {

    private final String model;
    private final Tier tier;

    TierNotReadyException(String model, Tier tier) {
        super("tier " + tier + " of model '" + model + "' is not ready", null, false, false);
        this.model = model;
        this.tier = tier;
    }

    /** The model the request named. */
    public String model() {
        return model;
    }

    public Tier tier() {
        return tier;
    }
}
