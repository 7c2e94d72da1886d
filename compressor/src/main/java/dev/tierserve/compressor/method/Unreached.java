package dev.tierserve.compressor.method;

/**
 * A target a method could not reach on the runtime it measured, with the best it measured. Recorded (never
 * published as a variant) so that a planner does not try the method again on that runtime.
 */
public record Unreached(String method, double targetSpeedup, double bestMeasuredSpeedup, String reason) {
}
