package dev.tierserve.compressor.calib;

/** How token states become one sentence embedding. */
public enum Pooling {
    /** the first token's state (BGE) */
    CLS,
    /** the mean over real tokens (all-MiniLM, E5) */
    MEAN
}
