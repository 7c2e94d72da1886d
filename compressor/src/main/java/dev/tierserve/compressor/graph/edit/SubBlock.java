package dev.tierserve.compressor.graph.edit;

import java.util.Comparator;

/** One residual sub-block: a layer's attention or its MLP, in the order the residual stream meets them. */
public record SubBlock(int layer, Kind kind) implements Comparable<SubBlock> {

    public enum Kind {
        ATTENTION,
        MLP
    }

    public static SubBlock attention(int layer) {
        return new SubBlock(layer, Kind.ATTENTION);
    }

    public static SubBlock mlp(int layer) {
        return new SubBlock(layer, Kind.MLP);
    }

    /** e.g. {@code L3.attention}. */
    public String label() {
        return "L" + layer + "." + kind.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public int compareTo(SubBlock other) {
        return Comparator.comparingInt(SubBlock::layer).thenComparing(SubBlock::kind).compare(this, other);
    }

    @Override
    public String toString() {
        return label();
    }
}
