package dev.tierserve.store;

/**
 * Quality of a variant decoder against its parent on held-out text: each model's perplexity of the next
 * token, and the mean KL divergence KL(parent ‖ variant) of the next-token distributions, over every real
 * position that has a real next token. Parent and variant run on the same batches in lockstep, so nothing is
 * held between batches. On the project's synthetic decoders these figures test the machinery, not quality.
 */
public record DecoderQuality(double variantPerplexity, double parentPerplexity, double meanKl, long positions,
                             boolean synthetic) {
}
