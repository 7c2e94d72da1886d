package dev.tierserve.compressor.graph.structure;

/**
 * One element of a constant (an initializer or a {@code Constant} node's value) that encodes an attention
 * size: a Reshape/Expand target dimension or a Split size. Pruning heads must rewrite every one of them.
 *
 * @param tensor the constant tensor's name
 * @param index  the element within that tensor
 */
public record ShapeConstant(String tensor, int index, Role role, long value) {

    public enum Role {
        /** query heads */
        HEADS,
        /** key/value heads (equal to HEADS without grouped-query attention) */
        KV_HEADS,
        /** query heads per key/value head, in GQA's repeat of K and V */
        GROUP_SIZE,
        HEAD_DIM,
        /** heads × head dim: the width of the attention context and of Q */
        ATTENTION_WIDTH,
        /** key/value heads × head dim: the width of K and V */
        KV_WIDTH
    }
}
