package dev.tierserve.store;

/**
 * {@code unreached/<method>-<tier>-<runtime>.json}: a method measured below a tier on a runtime, so the tier
 * planner does not run it there again. Nothing is served from it.
 */
public record UnreachedTarget(String parent, String parentSha256, String method, double targetSpeedup,
                              double bestMeasuredSpeedup, RuntimeSettings runtime, String reason, String created) {
}
