package dev.tierserve.client;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.ColorScheme;
import picocli.CommandLine.Help.Visibility;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/**
 * {@code help [COMMAND [SUBCOMMAND]]}: the usage of the command named, down to a subcommand of a subcommand
 * ({@code help rollout canary}). Picocli's own {@code HelpCommand} reads one name only: given two, it would show the
 * first one's usage.
 */
@Command(name = "help", helpCommand = true, description = "Shows the usage of a command or of a subcommand of one.",
        footer = {"  java -jar gateway/client/target/tierserve-client.jar help rollout canary"})
final class HelpCommand implements CommandLine.IHelpCommandInitializable2, Runnable {

    @Parameters(paramLabel = "COMMAND", arity = "0..*", showDefaultValue = Visibility.NEVER,
            description = "the command, then its subcommand (none: the client's own usage)")
    List<String> names = new ArrayList<>();

    private CommandLine self;
    private ColorScheme colors;
    private PrintWriter out;

    @Override
    public void init(CommandLine helpCommandLine, ColorScheme colorScheme, PrintWriter out, PrintWriter err) {
        this.self = helpCommandLine;
        this.colors = colorScheme;
        this.out = out;
    }

    @Override
    public void run() {
        CommandLine command = self.getParent();
        for (String name : names) {
            CommandLine subcommand = command.getSubcommands().get(name);
            if (subcommand == null) {
                throw new ParameterException(self, "'" + command.getCommandSpec().qualifiedName() + "' has no "
                        + "subcommand '" + name + "'; it has " + command.getSubcommands().keySet());
            }
            command = subcommand;
        }
        command.usage(out, colors);
    }
}
