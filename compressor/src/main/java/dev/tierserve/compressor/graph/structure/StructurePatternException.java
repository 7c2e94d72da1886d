package dev.tierserve.compressor.graph.structure;

/**
 * The graph is not a transformer this toolkit can map. The message names the first pattern that did not
 * match and the node or tensor where matching stopped; no partial map is ever returned.
 */
public final class StructurePatternException extends RuntimeException {

    public StructurePatternException(String pattern, String where, String detail) {
        super("cannot map the graph: expected " + pattern + " at " + where + (detail.isEmpty() ? "" : " (" + detail + ")"));
    }
}
