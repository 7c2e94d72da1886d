package dev.tierserve.compressor.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's own {@code tokenizer.json} (DJL), padding and truncating every text to a fixed length. A file that
 * cannot be loaded is an {@link InputDataException}.
 */
public final class BatchTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final int sequence;

    public BatchTokenizer(Path tokenizerJson, int sequence) {
        this.sequence = sequence;
        try {
            this.tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerJson)
                    .optMaxLength(sequence).optTruncation(true).optPadToMaxLength().build();
        } catch (IOException | RuntimeException e) {
            // A missing file is an IOException; one the tokenizer library cannot parse, its native RuntimeException.
            throw new InputDataException("cannot load tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    public int sequence() {
        return sequence;
    }

    public EncodedBatch encode(List<String> texts) {
        Encoding[] encodings = tokenizer.batchEncode(texts);
        int batch = texts.size();
        long[] ids = new long[batch * sequence];
        long[] mask = new long[batch * sequence];
        long[] types = new long[batch * sequence];
        for (int b = 0; b < batch; b++) {
            long[] e = encodings[b].getIds();
            if (e.length != sequence) {
                throw new IllegalStateException("tokenizer returned " + e.length + " ids, expected " + sequence);
            }
            System.arraycopy(e, 0, ids, b * sequence, sequence);
            System.arraycopy(encodings[b].getAttentionMask(), 0, mask, b * sequence, sequence);
            System.arraycopy(encodings[b].getTypeIds(), 0, types, b * sequence, sequence);
        }
        return new EncodedBatch(ids, mask, types, batch, sequence);
    }

    /** The samples' texts in batches of {@code batchSize} (the last may be smaller). */
    public List<EncodedBatch> encodeAll(List<TextSample> samples, int batchSize) {
        List<EncodedBatch> batches = new ArrayList<>();
        for (int from = 0; from < samples.size(); from += batchSize) {
            List<String> texts = samples.subList(from, Math.min(samples.size(), from + batchSize)).stream()
                    .map(TextSample::text).toList();
            batches.add(encode(texts));
        }
        return batches;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
