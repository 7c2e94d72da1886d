package dev.tierserve.compressor.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * User-supplied text: a {@code .jsonl} file (one JSON object per line with a text field and an optional label
 * field) or any other file as plain text, one sample per non-empty line. Every failure is an
 * {@link InputDataException} naming the file.
 */
public final class TextFiles {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TextFiles() {
    }

    public static List<TextSample> read(Path file) {
        return read(file, "text", "label");
    }

    public static List<TextSample> read(Path file, String textField, String labelField) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            throw new InputDataException("cannot read " + file + ": no such file", e);
        } catch (CharacterCodingException e) {
            throw new InputDataException(file + " is not UTF-8 text", e);
        } catch (IOException e) {
            throw new InputDataException("cannot read " + file + ": " + e.getMessage(), e);
        }
        boolean jsonl = file.getFileName().toString().endsWith(".jsonl");
        List<TextSample> samples = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty()) {
                continue;
            }
            if (!jsonl) {
                samples.add(new TextSample(line, null));
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (IOException e) {
                throw new InputDataException(file + " line " + (i + 1) + " is not JSON: " + e.getMessage(), e);
            }
            JsonNode text = node.get(textField);
            if (text == null || !text.isTextual() || text.asText().isBlank()) {
                throw new InputDataException(file + " line " + (i + 1) + " has no text field '" + textField + "'");
            }
            JsonNode label = node.get(labelField);
            samples.add(new TextSample(text.asText(), label == null || label.isNull() ? null : label.asText()));
        }
        if (samples.isEmpty()) {
            throw new InputDataException(file + " holds no text");
        }
        return samples;
    }
}
