package dev.tierserve.compressor.method;

import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;

import java.util.List;

/** all-MiniLM-L6 inputs shared by the depth-method tests: Brown calibration batches and one timing batch. */
public final class DepthFixtures {

    private DepthFixtures() {
    }

    public static List<EncodedBatch> miniLmCalibration(int texts, int sequence) {
        DataSplits splits = DataSplits.of(BrownCorpus.bundled(), 42, texts, 0, 0);
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), sequence)) {
            return tokenizer.encodeAll(splits.calibration(), 16);
        }
    }

    public static EncodedBatch miniLmTiming(int sequence) {
        DataSplits splits = DataSplits.of(BrownCorpus.bundled(), 7, 1, 0, 0);
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), sequence)) {
            return tokenizer.encode(List.of(splits.calibration().get(0).text()));
        }
    }
}
