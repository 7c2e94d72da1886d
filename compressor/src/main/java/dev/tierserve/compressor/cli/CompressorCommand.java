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
        System.exit(new CommandLine(new CompressorCommand()).execute(args));
    }
}
