package dev.tierserve.compressor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.store.VariantPublisher;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * The packaged command-line jar as a user runs it: {@code compress} on all-MiniLM-L6 publishes a measured variant
 * and prints the planner's decision, every user mistake is answered with one line on stderr and exit code 2, never a
 * stack trace, and every command's usage (its options, their defaults, an example) is one {@code --help} or
 * {@code help <command>} away. An integration test (run by failsafe after packaging) because it runs the jar.
 */
class CompressCommandIT {

    /** How the usage's examples run the jar, from the project's root. */
    private static final String JAR_COMMAND = "java -jar compressor/target/tierserve-compressor.jar";

    @TempDir
    static Path dir;

    /** all-MiniLM-L6's model.onnx alone in its directory; its tokenizer lives elsewhere. */
    private static Path minilm;
    private static Path tokenizer;
    /** A text file named model.onnx, tokenizer beside it. */
    private static Path textModel;
    /** Random bytes named model.onnx, tokenizer beside it. */
    private static Path randomModel;
    private static Path brokenJsonl;
    private static Path threeTexts;
    private static Path emptyFile;

    @BeforeAll
    static void files() throws IOException {
        minilm = Files.createDirectories(dir.resolve("minilm")).resolve("model.onnx");
        Files.copy(TestModels.file(TestModels.MINILM), minilm);
        tokenizer = Files.createDirectories(dir.resolve("tokenizers")).resolve("all-minilm-l6-v2.json");
        Files.copy(TestModels.file(TestModels.MINILM_TOKENIZER), tokenizer);

        textModel = Files.createDirectories(dir.resolve("text")).resolve("model.onnx");
        Files.writeString(textModel, "this is a text file, not an ONNX model\n");
        Files.copy(tokenizer, textModel.resolveSibling("tokenizer.json"));
        randomModel = Files.createDirectories(dir.resolve("random")).resolve("model.onnx");
        byte[] noise = new byte[4096];
        new Random(7).nextBytes(noise);
        Files.write(randomModel, noise);
        Files.copy(tokenizer, randomModel.resolveSibling("tokenizer.json"));

        brokenJsonl = dir.resolve("broken.jsonl");
        Files.writeString(brokenJsonl, "{\"text\": \"a fine line\"}\n{\"body\": \"no text field\"}\n");
        threeTexts = dir.resolve("three.txt");
        Files.writeString(threeTexts, "the first text\nthe second text\nthe third text\n");
        emptyFile = Files.createFile(dir.resolve("empty"));
    }

    @Test
    void compressPublishesAMeasuredVariantOfTheRealModelWithItsTokenizerFromElsewhere() throws Exception {
        Path store = dir.resolve("store");
        Run run = run(900, "compress", "--model", minilm.toString(), "--tokenizer", tokenizer.toString(),
                "--method", "trimllm", "--precision", "float32", "--targets", "1.2", "--calibration-texts", "16",
                "--test-texts", "20",
                "--seq", "64", "--pooling", "mean", "--normalize", "--out", store.toString());
        assertEquals(0, run.exit(), run.toString());
        assertFalse(run.stderr().contains("\tat "), run.stderr());

        // The summary names the tier's variant, then its candidates.
        Matcher decision = Pattern.compile("(?m)^1\\.2x: ((trimllm|trimllm-affine)-1\\.2x-[0-9a-f]{8}) \\(")
                .matcher(run.stdout());
        assertTrue(decision.find(), run.stdout());
        String id = decision.group(1);
        assertTrue(Pattern.compile("(?m)^ +trimllm\\S* +built for 1\\.2x +measured \\d+\\.\\d\\dx +cos 0\\.\\d{4} +chosen$")
                .matcher(run.stdout()).find(), run.stdout());
        assertTrue(run.stdout().contains("compression took "), run.stdout());

        Path variant = store.resolve("minilm").resolve(id);
        JsonNode manifest = new ObjectMapper().readTree(variant.resolve("variant.json").toFile());
        assertEquals(id, manifest.get("id").asText());
        assertEquals("minilm", manifest.get("parent").asText());
        assertEquals(VariantPublisher.sha256(minilm), manifest.get("parentSha256").asText());
        assertTrue(List.of("trimllm", "trimllm+affine").contains(manifest.get("method").asText()), id);
        assertEquals(1.2, manifest.get("targetSpeedup").asDouble());
        assertTrue(manifest.get("measuredSpeedup").asDouble() >= 1.2, "measured " + manifest.get("measuredSpeedup"));
        assertEquals(64, manifest.get("latency").get("runtime").get("sequence").asInt());
        JsonNode quality = manifest.get("quality");
        assertEquals("brown", quality.get("data").asText());
        assertEquals(20, quality.get("testTexts").asInt());
        double cosine = quality.get("encoder").get("meanCosine").asDouble();
        assertTrue(cosine > 0 && cosine < 1, "cosine " + cosine);
        assertTrue(quality.get("encoder").get("p5Cosine").asDouble() <= cosine);
        assertEquals("mean", manifest.get("parameters").get("pooling").asText());
        assertTrue(manifest.get("parameters").get("normalize").asBoolean());
        assertEquals(VariantPublisher.sha256(variant.resolve("model.onnx")), manifest.get("sha256").asText());
        int blocks = StructureDetector.detect(OnnxModelReader.read(variant.resolve("model.onnx"))).layers()
                .stream().mapToInt(l -> (l.attention() == null ? 0 : 1) + (l.mlp() == null ? 0 : 1)).sum();
        assertTrue(blocks < 12, "sub-blocks were physically removed: " + blocks);
    }

    static Stream<Arguments> mistakes() {
        String absent = dir.resolve("absent").toString();
        return Stream.of(
                arguments("compress: no --model", List.of("compress", "--targets", "1.2"),
                        "Missing required option: '--model=<model>'"),
                arguments("compress: no tokenizer.json beside the model", List.of("compress", "--model",
                        minilm.toString(), "--targets", "1.2"), minilm.resolveSibling("tokenizer.json").toString()),
                arguments("compress: --tokenizer names a missing file", List.of("compress", "--model",
                        minilm.toString(), "--tokenizer", absent + ".json", "--targets", "1.2"), absent + ".json"),
                arguments("compress: a missing model file", List.of("compress", "--model", absent + "/model.onnx",
                        "--tokenizer", tokenizer.toString(), "--targets", "1.2"), absent + "/model.onnx"),
                arguments("compress: a text file named model.onnx", List.of("compress", "--model",
                        textModel.toString(), "--targets", "1.2"), textModel + " is not an ONNX model"),
                arguments("compress: random bytes named model.onnx", List.of("compress", "--model",
                        randomModel.toString(), "--targets", "1.2"), randomModel + " is not an ONNX model"),
                arguments("compress: a missing --calibration file", List.of("compress", "--model", minilm.toString(),
                        "--tokenizer", tokenizer.toString(), "--targets", "1.2", "--calibration", absent + ".jsonl"),
                        absent + ".jsonl"),
                arguments("compress: a directory as --calibration", List.of("compress", "--model", minilm.toString(),
                        "--tokenizer", tokenizer.toString(), "--targets", "1.2", "--calibration", dir.toString()),
                        dir + " is a directory"),
                arguments("compress: a JSONL line without text", List.of("compress", "--model", minilm.toString(),
                        "--tokenizer", tokenizer.toString(), "--targets", "1.2", "--calibration",
                        brokenJsonl.toString()), brokenJsonl + " line 2 has no text field 'text'"),
                arguments("compress: an unknown method", List.of("compress", "--model", minilm.toString(),
                        "--tokenizer", tokenizer.toString(), "--targets", "1.2", "--method", "trimllm,magic"),
                        "unknown method 'magic'"),
                arguments("compress: an unknown precision", List.of("compress", "--model", minilm.toString(),
                        "--tokenizer", tokenizer.toString(), "--targets", "1.2", "--precision", "int4"),
                        "unknown precision 'int4'; available: [float32, int8]"),
                arguments("compress: a target of 1", List.of("compress", "--model", minilm.toString(),
                        "--tokenizer", tokenizer.toString(), "--targets", "1.5,1"), "speedups above 1"),
                arguments("compress: an unknown pooling", List.of("compress", "--model", minilm.toString(),
                        "--tokenizer", tokenizer.toString(), "--targets", "1.2", "--pooling", "max"), "'max'"),
                arguments("compress: an unknown option", List.of("compress", "--model", minilm.toString(),
                        "--targets", "1.2", "--tokeniser", tokenizer.toString()), "'--tokeniser'"),
                arguments("evaluate: a missing parent", List.of("evaluate", absent + ".onnx"), absent + ".onnx"),
                arguments("evaluate: a text file as the parent", List.of("evaluate", textModel.toString()),
                        textModel + " is not an ONNX model"),
                arguments("evaluate: a missing variant", List.of("evaluate", minilm.toString(), absent + ".onnx",
                        "--tokenizer", tokenizer.toString()), absent + ".onnx"),
                arguments("evaluate: no tokenizer.json beside the parent", List.of("evaluate", minilm.toString()),
                        minilm.resolveSibling("tokenizer.json").toString()),
                arguments("evaluate: a missing --data file", List.of("evaluate", minilm.toString(), "--tokenizer",
                        tokenizer.toString(), "--data", absent + ".txt"), absent + ".txt"),
                arguments("evaluate: fewer texts in --data than --train and --test", List.of("evaluate",
                        minilm.toString(), "--tokenizer", tokenizer.toString(), "--data", threeTexts.toString(),
                        "--train", "10", "--test", "5"), "asked for 15 texts (10 calibration or classifier training, "
                        + "0 validation, 5 test) but the data has 3"),
                arguments("inspect: a missing model file", List.of("inspect", absent + ".onnx"), absent + ".onnx"),
                arguments("inspect: random bytes named model.onnx", List.of("inspect", randomModel.toString()),
                        randomModel + " is not an ONNX model"),
                arguments("serve: a missing model repository", List.of("serve", "--models", absent), absent),
                arguments("serve: --tls-ca without a certificate", List.of("serve", "--models", dir.toString(),
                        "--tls-ca", textModel.toString()), "--tls-ca needs --tls-cert and --tls-key"),
                arguments("serve: a certificate that is not PEM", List.of("serve", "--models", dir.toString(),
                        "--tls-cert", textModel.toString(), "--tls-key", textModel.toString()),
                        "cannot use the TLS files"),
                arguments("serve: an empty token file", List.of("serve", "--models", dir.toString(), "--token-file",
                        emptyFile.toString()), emptyFile + " is empty"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mistakes")
    void aUserMistakeIsOneLineOnStderrAndExitCode2(String mistake, List<String> args, String named) throws Exception {
        Run run = run(120, args.toArray(String[]::new));
        List<String> lines = run.stderr().lines().toList();
        assertEquals(1, lines.size(), "one line on stderr: " + run);
        assertTrue(lines.get(0).startsWith("error: "), run.toString());
        assertTrue(lines.get(0).contains(named), "names " + named + ": " + run);
        assertFalse(run.stderr().contains("\tat ") || run.stderr().contains("Exception in thread"), run.toString());
        assertEquals(2, run.exit(), run.toString());
    }

    /** The top command (no words) and every subcommand, read from the command line's model. */
    static Stream<List<String>> commands() {
        return Stream.concat(Stream.of(List.<String>of()),
                CompressorCommand.commandLine().getSubcommands().keySet().stream().map(List::of));
    }

    /**
     * {@code <command> --help} and {@code help <command>} print the same usage to stdout and exit 0, required options
     * notwithstanding: the command's usage line, each of its options, and under "Example:" a command line of this
     * command that the command line parses.
     */
    @ParameterizedTest(name = "[{0}] --help, help [{0}]")
    @MethodSource("commands")
    void everyCommandPrintsItsUsageWithAnExample(List<String> command) throws Exception {
        CommandLine commandLine = CompressorCommand.commandLine();
        for (String name : command) {
            commandLine = commandLine.getSubcommands().get(name);
        }
        CommandSpec spec = commandLine.getCommandSpec();
        List<String> dashDashHelp = new ArrayList<>(command);
        dashDashHelp.add("--help");
        List<String> helpCommand = new ArrayList<>(List.of("help"));
        helpCommand.addAll(command);
        Run help = run(60, dashDashHelp.toArray(String[]::new));
        assertEquals(0, help.exit(), help.toString());
        assertEquals("", help.stderr(), help.toString());
        assertTrue(help.stdout().lines().anyMatch(line -> line.startsWith("Usage: " + spec.qualifiedName() + " ")),
                "the usage line: " + help);
        for (OptionSpec option : spec.options()) {
            for (String name : option.names()) {
                assertTrue(Pattern.compile("(?<![\\w-])" + Pattern.quote(name) + "(?![\\w-])").matcher(help.stdout())
                        .find(), "shows " + name + ": " + help);
            }
        }
        for (List<String> example : examples(help.stdout())) {
            assertEquals(command, example.subList(0, command.size()), "an example of this command: " + example);
            assertDoesNotThrow(() -> CompressorCommand.commandLine().parseArgs(example.toArray(String[]::new)),
                    "the example parses: " + example);
        }
        Run helpOf = run(60, helpCommand.toArray(String[]::new));
        assertEquals(0, helpOf.exit(), helpOf.toString());
        assertEquals(help.stdout(), helpOf.stdout(), "help " + command + " prints what --help does");
    }

    /**
     * The command lines under the usage's "Example:" heading, each as its words after {@code java -jar <jar>}: a line
     * ending in a backslash continues on the next, as in a shell.
     */
    private static List<List<String>> examples(String usage) {
        List<String> lines = usage.lines().toList();
        int heading = lines.indexOf("Example:");
        assertTrue(heading >= 0, "an Example: heading in\n" + usage);
        List<List<String>> examples = new ArrayList<>();
        StringBuilder example = null;
        for (String line : lines.subList(heading + 1, lines.size())) {
            if (line.isBlank()) {
                break;
            }
            example = example == null ? new StringBuilder() : example.append(' ');
            String text = line.strip();
            if (text.endsWith("\\")) {
                example.append(text, 0, text.length() - 1);
                continue;
            }
            String words = example.append(text).toString().strip();
            assertTrue(words.startsWith(JAR_COMMAND + " "),
                    "an example runs the jar (lines end in \\ where it goes on): " + words + "\n" + usage);
            examples.add(List.of(words.substring(JAR_COMMAND.length()).strip().split("\\s+")));
            example = null;
        }
        assertNull(example, "the last example ends without a backslash:\n" + usage);
        assertFalse(examples.isEmpty(), "a command line under Example:\n" + usage);
        return examples;
    }

    private record Run(int exit, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exit + "\n---- stdout\n" + stdout + "---- stderr\n" + stderr;
        }
    }

    /** Runs the packaged jar with {@code args} in {@link #dir}; fails if it has not ended after {@code limit} s. */
    private static Run run(long limitSeconds, String... args) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String jar = Path.of(System.getProperty("compressor.jar", "target/tierserve-compressor.jar"))
                .toAbsolutePath().toString();
        List<String> command = new ArrayList<>(List.of(java.toString(), "-Xmx4g", "-jar", jar));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "stdout-", ".txt");
        Path err = Files.createTempFile(dir, "stderr-", ".txt");
        Process process = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!process.waitFor(limitSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            throw new AssertionError("still running after " + limitSeconds + " s: " + command + "\n"
                    + new Run(-1, Files.readString(out), Files.readString(err)));
        }
        return new Run(process.exitValue(), Files.readString(out), Files.readString(err));
    }
}
