package dev.tierserve.store;

/** The kinds of change a tier's rollout records. */
public enum RolloutAction {
    /** A canary was set (by hand, or by a publish for a tier that already has a stable variant). */
    CANARY,
    /** The canary's weight was set by hand. */
    WEIGHT,
    /** The shadow sample rate was set. */
    SHADOW,
    /** A judgement passed and the canary's weight went up a step (or stayed at its maximum). */
    STEP,
    /** A judgement failed without reaching the failure threshold. */
    CHECK_FAILED,
    /** The canary became the stable variant. */
    PROMOTE,
    /** The canary was removed; the stable variant answers alone. */
    ROLLBACK
}
