package dev.tierserve.compressor.data;

import dev.tierserve.compressor.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
