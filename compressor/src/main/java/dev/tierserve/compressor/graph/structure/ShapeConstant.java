package dev.tierserve.compressor.graph.structure;

/**
 * One element of a constant (an initializer or a {@code Constant} node's value) that encodes an attention
 * size: a Reshape/Expand target dimension or a Split size. Pruning heads must rewrite every one of them.
 *
 * @param tensor the constant tensor's name
 * @param index  the element within that tensor
 * @param reader the output of the node in this block that reads the constant (a Concat, Reshape, Expand or
 *               Split): exporters may share one constant between layers, so an edit rewires only this reader
 */
public record ShapeConstant(String tensor, int index, Role role, long value, String reader) {

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
