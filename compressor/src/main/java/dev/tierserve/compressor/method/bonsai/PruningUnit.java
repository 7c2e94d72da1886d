package dev.tierserve.compressor.method.bonsai;

import java.util.Arrays;

/**
 * One unit Bonsai keeps or drops: a KV group of attention heads (one head without GQA) or a group of MLP channels
 * of one layer.
 *
 * @param members query-head indices (attention) or channel indices (MLP) in the current model
 * @param prior   Σ over members of ‖output-projection row‖ · activation RMS (Wanda-like)
 */
public record PruningUnit(int layer, boolean attention, int[] members, double prior) {

    public String label() {
        return "L" + layer + (attention ? ".heads" : ".channels") + Arrays.toString(members.length > 4
                ? Arrays.copyOf(members, 4) : members).replace("]", members.length > 4 ? ", …]" : "]");
    }
}
