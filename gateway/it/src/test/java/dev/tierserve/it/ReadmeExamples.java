package dev.tierserve.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The command-line examples of the READMEs, read out of them so that the READMEs cannot drift from what works: the
 * client examples of README.md, and the canary rollout examples of gateway/README.md.
 *
 * <p>An example is an indented line starting with {@code java -jar <jar>} (continued by trailing backslashes). The
 * indented {@code # } lines right after it are the output it must print, in order: {@code …}, {@code ...} and
 * {@code <anything>} stand for any text, and an {@code  <- remark} at the end is a remark. A line starting with
 * {@code # ...} ends what the example promises (what follows describes a later state).
 */
final class ReadmeExamples {

    /** The top-level README: the client examples PackagedGatewayIT runs. */
    static final Path README = PackagedGateway.ROOT.resolve("README.md");
    /** The gateway's README, which holds the canary rollout examples. */
    static final Path GATEWAY_README = PackagedGateway.ROOT.resolve("gateway/README.md");
    /**
     * The section of {@link #GATEWAY_README} whose examples need a gateway with an admin token and variants: RolloutIT
     * runs them.
     */
    static final String ROLLOUT_SECTION = "Canary rollouts";

    /**
     * @param section  the heading it is under (without its #s)
     * @param words    the command's words, unquoted as a shell would
     * @param expected patterns of the lines it prints, in order
     */
    record Example(String section, List<String> words, List<Pattern> expected) {

        /** Whether the example shows an error (a non-zero exit). */
        boolean showsError() {
            return expected.stream().anyMatch(p -> p.pattern().startsWith("\\Qerror: "));
        }

        @Override
        public String toString() {
            return String.join(" ", words);
        }
    }

    private ReadmeExamples() {
    }

    /** README.md's examples of the jar {@code jar} (a path relative to the project root), in order. */
    static List<Example> of(String jar) throws IOException {
        return of(README, jar);
    }

    /** The examples of the jar {@code jar} (a path relative to the project root) in {@code file}, in order. */
    static List<Example> of(Path file, String jar) throws IOException {
        List<String> lines = Files.readAllLines(file);
        String start = "java -jar " + jar + " ";
        List<Example> examples = new ArrayList<>();
        String section = "";
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("#")) {
                section = lines.get(i).replaceFirst("^#+\\s*", "").strip();
            }
            if (!lines.get(i).startsWith("    ") || !lines.get(i).strip().startsWith(start)) {
                continue;
            }
            StringBuilder command = new StringBuilder();
            String line = lines.get(i).strip();
            while (line.endsWith("\\")) {
                command.append(line, 0, line.length() - 1).append(' ');
                line = lines.get(++i).strip();
            }
            command.append(line);
            List<Pattern> expected = new ArrayList<>();
            while (i + 1 < lines.size() && lines.get(i + 1).startsWith("    # ")) {
                String output = lines.get(++i).strip().substring(2);
                if (output.startsWith("...")) {
                    break;
                }
                expected.add(pattern(output.replaceFirst("\\s+<- .*$", "")));
            }
            examples.add(new Example(section, words(command.toString()), expected));
        }
        if (examples.isEmpty()) {
            throw new IllegalStateException(PackagedGateway.ROOT.relativize(file) + " has no example of " + jar);
        }
        return examples;
    }

    /**
     * Runs {@code example} as written and checks it: exit 0 (non-zero where it shows an error), no stack trace, and
     * the lines it promises, in order.
     */
    static void assertRunsAsWritten(PackagedClient client, Example example) throws IOException, InterruptedException {
        PackagedClient.Run run = client.runAsWritten(example.words());
        if (example.showsError()) {
            assertNotEquals(0, run.exitCode(), run.toString());
        } else {
            assertEquals(0, run.exitCode(), run.toString());
        }
        assertFalse(run.stderr().contains("\tat "), "no stack trace: " + run);
        List<String> printed = run.lines();
        int at = 0;
        for (Pattern expected : example.expected()) {
            while (at < printed.size() && !expected.matcher(printed.get(at)).matches()) {
                at++;
            }
            assertTrue(at < printed.size(), "'" + example + "' should print a line matching " + expected + "\n" + run);
            at++;
        }
    }

    /** Words of a command line: blanks separate, double or single quotes group (no other shell syntax). */
    static List<String> words(String command) {
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        char quote = 0;
        for (char c : command.toCharArray()) {
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else {
                    word.append(c);
                }
            } else if (c == '"' || c == '\'') {
                quote = c;
                word = word == null ? new StringBuilder() : word;
            } else if (Character.isWhitespace(c)) {
                if (word != null) {
                    words.add(word.toString());
                    word = null;
                }
            } else {
                word = word == null ? new StringBuilder() : word;
                word.append(c);
            }
        }
        if (quote != 0) {
            throw new IllegalArgumentException("unbalanced quote in: " + command);
        }
        if (word != null) {
            words.add(word.toString());
        }
        return words;
    }

    private static Pattern pattern(String shown) {
        StringBuilder regex = new StringBuilder();
        int literalFrom = 0;
        var wildcard = Pattern.compile("…|\\.\\.\\.|<[^>]*>").matcher(shown);
        while (wildcard.find()) {
            regex.append(Pattern.quote(shown.substring(literalFrom, wildcard.start()))).append(".*");
            literalFrom = wildcard.end();
        }
        regex.append(Pattern.quote(shown.substring(literalFrom)));
        return Pattern.compile(regex.toString());
    }
}
