package dev.tierserve.compressor.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.ScopeType;

/**
 * {@code java -jar compressor/target/tierserve-compressor.jar <subcommand>}. Every subcommand inherits the help
 * attributes ({@code scope = INHERIT}): {@code -h}/{@code --help} and {@code -V}/{@code --version}, the options'
 * default values and the heading of the example each one shows in its footer; {@code help <subcommand>} prints the
 * same usage.
 */
@Command(name = "compressor", scope = ScopeType.INHERIT, mixinStandardHelpOptions = true,
        versionProvider = CompressorCommand.Version.class, showDefaultValues = true,
        description = "Structured compression of ONNX transformer models.",
        footerHeading = "%nExample:%n",
        footer = {"  java -jar compressor/target/tierserve-compressor.jar help compress"},
        subcommands = {HelpCommand.class, InspectCommand.class, SyntheticCommand.class, EvaluateCommand.class,
                CompressCommand.class, ServeCommand.class})
public final class CompressorCommand {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line as {@link #main} runs it: enum values ({@code --pooling cls}) in any case, and a user's
     * mistake answered with one line ({@link UserErrorHandler}).
     */
    static CommandLine commandLine() {
        UserErrorHandler errors = new UserErrorHandler();
        return new CommandLine(new CompressorCommand()).setCaseInsensitiveEnumValuesAllowed(true)
                .setParameterExceptionHandler(errors).setExecutionExceptionHandler(errors);
    }

    /** {@code --version}: the version the jar's manifest records ({@code Implementation-Version}). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = CompressorCommand.class.getPackage().getImplementationVersion();
            return new String[] {"tierserve-compressor " + (version != null ? version : "(not packaged)")};
        }
    }
}
