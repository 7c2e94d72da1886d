package dev.tierserve.compressor.eval;

import dev.tierserve.store.DecoderQuality;
import dev.tierserve.store.EncoderQuality;

/**
 * One evaluated model: its measured latency and speedup over the parent (same run, same settings) and its
 * quality against the parent. Exactly one of {@code encoder} and {@code decoder} is set.
 */
public record VariantResult(String name, double medianMs, double measuredSpeedup, EncoderQuality encoder,
                            DecoderQuality decoder) {
}
