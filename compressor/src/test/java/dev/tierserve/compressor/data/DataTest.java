package dev.tierserve.compressor.data;

import dev.tierserve.compressor.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataTest {

    @TempDir
    Path dir;

    @Test
    void brownCorpusHasFifteenGenresAndUntaggedSentences() {
        List<TextSample> brown = BrownCorpus.bundled();
        Set<String> genres = brown.stream().map(TextSample::label).collect(Collectors.toSet());
        assertEquals(15, genres.size(), genres.toString());
        assertTrue(genres.containsAll(Set.of("news", "editorial", "fiction", "humor", "learned")));
        assertTrue(brown.size() > 40_000, "sentences: " + brown.size());
        assertTrue(brown.stream().noneMatch(s -> s.text().contains("/nn")), "POS tags are stripped");
        assertEquals("The jury said, \"no evidence\".",
                BrownCorpus.untag("The/at jury/nn said/vbd ,/, ``/`` no/at evidence/nn ''/'' ./."));
    }

    @Test
    void splitsAreDisjointAndReproducible() {
        List<TextSample> brown = BrownCorpus.bundled();
        DataSplits a = DataSplits.of(brown, 42, 300, 100, 200);
        DataSplits b = DataSplits.of(brown, 42, 300, 100, 200);
        assertEquals(a, b, "same seed, same splits");
        assertNotEquals(a.test(), DataSplits.of(brown, 43, 300, 100, 200).test());
        Set<TextSample> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (List<TextSample> split : List.of(a.calibration(), a.validation(), a.test())) {
            for (TextSample sample : split) {
                assertTrue(seen.add(sample), "a sample appears in two splits");
            }
        }
        assertEquals(600, seen.size());
        assertThrows(IllegalArgumentException.class, () -> DataSplits.of(brown.subList(0, 10), 1, 5, 5, 5));
    }

    @Test
    void packingByLengthKeepsEveryTextAndCutsThePadding() {
        List<TextSample> texts = DataSplits.of(BrownCorpus.bundled(), 42, 100, 0, 0).calibration();
        List<EncodedBatch> padded;
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), 64)) {
            padded = tokenizer.encodeAll(texts, 16);
        }
        List<EncodedBatch> packed = Batches.packedByLength(padded, 16);
        assertEquals(padded.stream().mapToInt(EncodedBatch::realTokens).sum(),
                packed.stream().mapToInt(EncodedBatch::realTokens).sum());
        assertEquals(List.of(16, 16, 16, 16, 16, 16, 4), packed.stream().map(EncodedBatch::batch).toList());
        assertTrue(packed.stream().mapToInt(b -> b.batch() * b.sequence()).sum()
                < padded.stream().mapToInt(b -> b.batch() * b.sequence()).sum() / 2, "most padding is gone");
        assertEquals(rows(padded), rows(packed), "the same texts, token for token");
        for (EncodedBatch batch : packed) {
            long lastColumn = 0;
            for (int r = 0; r < batch.batch(); r++) {
                lastColumn += batch.attentionMask()[r * batch.sequence() + batch.sequence() - 1];
            }
            assertTrue(lastColumn > 0, "each batch is cut to its longest text");
        }
    }

    /** Each text's unpadded token ids, sorted (packing reorders the texts). */
    private static List<String> rows(List<EncodedBatch> batches) {
        List<String> rows = new ArrayList<>();
        for (EncodedBatch batch : batches) {
            for (int r = 0; r < batch.batch(); r++) {
                List<Long> ids = new ArrayList<>();
                for (int t = 0; t < batch.sequence(); t++) {
                    if (batch.attentionMask()[r * batch.sequence() + t] != 0) {
                        ids.add(batch.inputIds()[r * batch.sequence() + t]);
                    }
                }
                rows.add(ids.toString());
            }
        }
        Collections.sort(rows);
        return rows;
    }

    @Test
    void calibrationOutsideTheTestSplitSkipsItAndStopsAtTheEnd() {
        List<TextSample> brown = BrownCorpus.bundled();
        DataSplits evaluation = DataSplits.of(brown, 42, 1000, 0, 300);
        List<TextSample> calibration = DataSplits.outsideTest(brown, 42, 1000, 300, 2000);
        assertEquals(2000, calibration.size());
        assertEquals(evaluation.calibration(), calibration.subList(0, 1000), "the train split first");
        Set<TextSample> test = Collections.newSetFromMap(new IdentityHashMap<>());
        test.addAll(evaluation.test());
        assertTrue(calibration.stream().noneMatch(test::contains), "no test sample is calibrated on");
        assertEquals(DataSplits.of(brown, 42, 500, 0, 0).calibration(),
                DataSplits.outsideTest(brown, 42, 1000, 300, 500), "up to the train size, the calibration split as before");

        List<TextSample> small = brown.subList(0, 50);
        assertEquals(40, DataSplits.outsideTest(small, 7, 20, 10, 2000).size(), "all but the test samples");
        assertThrows(IllegalArgumentException.class, () -> DataSplits.outsideTest(small, 7, 40, 20, 10));
    }

    @Test
    void readsJsonlWithLabelsAndPlainText() throws IOException {
        Path jsonl = dir.resolve("data.jsonl");
        Files.writeString(jsonl, "{\"text\": \"first one\", \"label\": \"a\"}\n\n{\"text\": \"second\"}\n");
        List<TextSample> samples = TextFiles.read(jsonl);
        assertEquals(List.of(new TextSample("first one", "a"), new TextSample("second", null)), samples);

        Path plain = dir.resolve("data.txt");
        Files.writeString(plain, "line one\n\n  line two  \n");
        assertEquals(List.of("line one", "line two"), TextFiles.read(plain).stream().map(TextSample::text).toList());
        assertNull(TextFiles.read(plain).get(0).label());

        Files.writeString(jsonl, "{\"body\": \"x\"}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TextFiles.read(jsonl));
        assertTrue(e.getMessage().contains("line 1 has no text field 'text'"), e.getMessage());
    }

    @Test
    void tokenizesToAFixedLengthWithMask() {
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), 16)) {
            EncodedBatch batch = tokenizer.encode(List.of("hello world", "a much longer sentence " + "word ".repeat(40)));
            assertEquals(2, batch.batch());
            assertEquals(16, batch.sequence());
            assertEquals(101, batch.inputIds()[0], "[CLS]");
            assertEquals(102, batch.inputIds()[3], "[SEP] after two word pieces");
            assertEquals(0, batch.inputIds()[4], "padding");
            assertEquals(4 + 16, batch.realTokens(), "4 real tokens, then a truncated full row");
        }
    }
}
