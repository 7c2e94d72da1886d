package dev.tierserve.it;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.tierserve.client.InferenceClient;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The packaged client's usage, as a user asks for it: for every command and subcommand (read from the client's picocli
 * model, so that a new one is covered), {@code <command> --help} and {@code help <command>} print its usage with each
 * option and an example that parses; a mistake is one {@code error:} line and exit code 2. No gateway is needed.
 */
class ClientHelpIT {

    /** How the usage's examples run the jar, from the project's root. */
    private static final String JAR_COMMAND = "java -jar gateway/client/target/tierserve-client.jar";

    /** Nothing answers there: no command here reaches a server. */
    private final PackagedClient client = new PackagedClient("localhost:1");

    /** The words of every command: the client itself (none), its subcommands and theirs. */
    static Stream<List<String>> commands() {
        List<List<String>> commands = new ArrayList<>();
        addWithSubcommands(new CommandLine(new InferenceClient()), List.of(), commands);
        return commands.stream();
    }

    private static void addWithSubcommands(CommandLine command, List<String> words, List<List<String>> commands) {
        commands.add(words);
        command.getSubcommands().forEach((name, subcommand) -> {
            List<String> subcommandWords = new ArrayList<>(words);
            subcommandWords.add(name);
            addWithSubcommands(subcommand, subcommandWords, commands);
        });
    }

    /**
     * {@code <command> --help} and {@code help <command>} print the same usage to stdout and exit 0, required options
     * notwithstanding: the command's usage line, each of its options, and under "Example:" a command line of this
     * command that the client parses.
     */
    @ParameterizedTest(name = "[{0}] --help, help [{0}]")
    @MethodSource("commands")
    void everyCommandPrintsItsUsageWithAnExample(List<String> command) throws Exception {
        CommandLine commandLine = new CommandLine(new InferenceClient());
        for (String name : command) {
            commandLine = commandLine.getSubcommands().get(name);
        }
        CommandSpec spec = commandLine.getCommandSpec();
        List<String> dashDashHelp = new ArrayList<>(command);
        dashDashHelp.add("--help");
        List<String> helpCommand = new ArrayList<>(List.of("help"));
        helpCommand.addAll(command);

        PackagedClient.Run help = client.run(dashDashHelp.toArray(String[]::new));
        assertEquals(0, help.exitCode(), help.toString());
        assertEquals("", help.stderr(), help.toString());
        assertTrue(help.stdout().lines().anyMatch(line -> line.startsWith("Usage: " + spec.qualifiedName() + " ")),
                "the usage line: " + help);
        for (OptionSpec option : spec.options()) {
            for (String name : option.names()) {
                assertTrue(Pattern.compile("(?<![\\w-])" + Pattern.quote(name) + "(?![\\w-])").matcher(help.stdout())
                        .find(), "shows " + name + ": " + help);
            }
        }
        assertFalse(help.stdout().contains("Default: []"), "no empty defaults: " + help);
        for (List<String> example : examples(help.stdout())) {
            assertTrue(Collections.indexOfSubList(example, command) >= 0, "an example of this command: " + example);
            assertDoesNotThrow(() -> new CommandLine(new InferenceClient()).parseArgs(example.toArray(String[]::new)),
                    "the example parses: " + example);
        }

        PackagedClient.Run helpOf = client.run(helpCommand.toArray(String[]::new));
        assertEquals(0, helpOf.exitCode(), helpOf.toString());
        assertEquals(help.stdout(), helpOf.stdout(), "help " + command + " prints what --help does");
    }

    static Stream<Arguments> mistakes() {
        return Stream.of(
                arguments(List.of("infer", "--text", "hi"), "Missing required option: '--model=<model>'"),
                arguments(List.of("rollout", "canary", "--model", "m", "--tier", "2x", "--variant", "v", "--weight",
                        "half"), "'half'"),
                arguments(List.of("load", "--rate", "1", "--tensor-model", "m", "--warp", "9"), "'--warp'"),
                arguments(List.of("help", "rollout", "cannary"), "no subcommand 'cannary'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mistakes")
    void aMistakeIsOneErrorLineAndExitCode2(List<String> words, String named) throws Exception {
        PackagedClient.Run run = client.run(words.toArray(String[]::new));
        assertEquals(2, run.exitCode(), run.toString());
        List<String> lines = run.stderr().lines().toList();
        assertEquals(1, lines.size(), "one line on stderr: " + run);
        assertTrue(lines.get(0).startsWith("error: ") && lines.get(0).contains(named), run.toString());
    }

    /**
     * The command lines under the usage's "Example:" heading, each as its words after {@code java -jar <jar>}
     * (unquoted as a shell would): a line ending in a backslash continues on the next, as in a shell.
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
            examples.add(ReadmeExamples.words(words.substring(JAR_COMMAND.length())));
            example = null;
        }
        assertNull(example, "the last example ends without a backslash:\n" + usage);
        assertFalse(examples.isEmpty(), "a command line under Example:\n" + usage);
        return examples;
    }
}
