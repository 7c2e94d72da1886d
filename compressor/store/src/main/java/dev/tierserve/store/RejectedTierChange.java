package dev.tierserve.store;

/** A {@link TierChange} whose precondition does not hold on the tier table it meets. */
public final class RejectedTierChange extends RuntimeException {

    /** Why a change was refused. */
    public enum Reason {
        /** The variant is already the tier's stable variant. */
        ALREADY_STABLE,
        /** The tier has no canary to judge, promote or roll back. */
        NO_CANARY,
        /** The tier's canary is no longer the one the change was made for. */
        CANARY_CHANGED
    }

    private final Reason reason;

    public RejectedTierChange(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
