package dev.tierserve.compressor.synthetic;

import java.util.Locale;

/**
 * Shape of a synthetic decoder. Build with {@link #gpt2()} or {@link #llama()} and adjust.
 *
 * @param kvHeads key/value heads; fewer than {@code heads} is grouped-query attention (Llama family only)
 * @param cache   whether the graph takes past keys/values as inputs and returns the present ones
 */
public record DecoderConfig(Family family, int layers, int hidden, int heads, int kvHeads, int ffn, int vocab,
                            int maxPositions, boolean cache, long seed) {

    public enum Family {
        /** LayerNorm, learned positions, packed QKV with biases, GELU (tanh) MLP, tied-style LM head */
        GPT2,
        /** RMSNorm, rotary positions, separate Q/K/V without biases, grouped-query attention, SwiGLU MLP */
        LLAMA
    }

    public DecoderConfig {
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden " + hidden + " is not a multiple of heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kv heads " + kvHeads);
        }
        if (family == Family.GPT2 && kvHeads != heads) {
            throw new IllegalArgumentException("GPT-2 has no grouped-query attention");
        }
        if ((hidden / heads) % 2 != 0) {
            throw new IllegalArgumentException("head dim must be even (rotary embeddings rotate pairs)");
        }
    }

    /** A small GPT-2-style decoder: 4 layers, 128 wide, 4 heads, FFN 512, with a KV cache. */
    public static DecoderConfig gpt2() {
        return new DecoderConfig(Family.GPT2, 4, 128, 4, 4, 512, 1000, 256, true, 7);
    }

    /** A small Llama-style decoder: 4 layers, 128 wide, 8 heads over 4 KV heads, FFN 344, with a KV cache. */
    public static DecoderConfig llama() {
        return new DecoderConfig(Family.LLAMA, 4, 128, 8, 4, 344, 1000, 256, true, 7);
    }

    public int headDim() {
        return hidden / heads;
    }

    public DecoderConfig withLayers(int value) {
        return new DecoderConfig(family, value, hidden, heads, kvHeads, ffn, vocab, maxPositions, cache, seed);
    }

    public DecoderConfig withWidth(int hiddenSize, int headCount, int kvHeadCount, int ffnSize) {
        return new DecoderConfig(family, layers, hiddenSize, headCount, kvHeadCount, ffnSize, vocab, maxPositions, cache,
                seed);
    }

    public DecoderConfig withCache(boolean value) {
        return new DecoderConfig(family, layers, hidden, heads, kvHeads, ffn, vocab, maxPositions, value, seed);
    }

    public DecoderConfig withSeed(long value) {
        return new DecoderConfig(family, layers, hidden, heads, kvHeads, ffn, vocab, maxPositions, cache, value);
    }

    public String describe() {
        return String.format(Locale.ROOT, "synthetic %s-style decoder: %d layers, hidden %d, %d heads (%d KV), FFN %d, "
                        + "vocab %d, %s, seed %d", family == Family.GPT2 ? "GPT-2" : "Llama", layers, hidden, heads,
                kvHeads, ffn, vocab, cache ? "KV cache" : "no cache", seed);
    }
}
