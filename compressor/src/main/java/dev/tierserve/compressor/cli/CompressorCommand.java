package dev.tierserve.compressor.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar compressor/target/tierserve-compressor.jar <subcommand>}. */
@Command(name = "compressor", mixinStandardHelpOptions = true,
        description = "Structured compression of ONNX transformer models.",
        subcommands = {InspectCommand.class, SyntheticCommand.class, EvaluateCommand.class,
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
}
