package dev.tierserve.compressor.latency;

import java.util.List;

/**
 * ZipLM's runtime model, measured: the time of one attention block at each head count and of one MLP block
 * at each width, and the parent's fixed (embeddings, head) and prunable totals, all on one runtime setting.
 * A block time is the time of a one-layer model holding only that block minus the time of the same model
 * with no block, measured interleaved in one run.
 *
 * @param modelKey        the parent's content hash (first 16 hex digits of SHA-256)
 * @param attentionMs     index h = time of one attention block with h heads (index 0 is 0: block removed)
 * @param mlpLevels       MLP widths from full width down (densities 1, 0.9, 0.81, …), with their times
 * @param fullMs          the whole parent
 * @param fixedMs         the parent with every layer removed
 */
public record ComponentLatencyTable(String modelKey, dev.tierserve.store.RuntimeSettings settings,
                                    int layers, int headsPerLevel, double[] attentionMs, List<MlpLevel> mlpLevels,
                                    double fullMs, double fixedMs) {

    public record MlpLevel(int width, double ms) {
    }

    public double prunableMs() {
        return fullMs - fixedMs;
    }

    /** Time of one attention block with {@code heads} heads. */
    public double attention(int heads) {
        return attentionMs[heads];
    }
}
