package dev.tierserve.compressor.cli;

import dev.tierserve.compressor.data.InputDataException;
import dev.tierserve.compressor.graph.OnnxFormatException;
import dev.tierserve.compressor.graph.structure.StructurePatternException;
import dev.tierserve.compressor.plan.JobMemory;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * How the command line answers a user's mistake: one line on stderr, {@code error: <what is wrong>}, and exit code
 * 2, never a stack trace. Mistakes are picocli's own (an unknown option, a value of the wrong type), the commands'
 * up-front checks (a missing file, an unknown method, a target of 1 or less), and inputs found unusable while
 * running (a file that is not an ONNX model, a graph that is not a transformer this toolkit maps, unreadable or
 * malformed text data or tokenizer, fewer texts than asked for, a model too large for the heap). Any other exception is a bug and keeps its stack
 * trace.
 */
final class UserErrorHandler implements CommandLine.IParameterExceptionHandler,
        CommandLine.IExecutionExceptionHandler {

    @Override
    public int handleParseException(ParameterException mistake, String[] args) {
        CommandLine command = mistake.getCommandLine();
        report(command, mistake.getMessage());
        if (command.getParent() == null) {
            command.usage(command.getErr()); // no subcommand chosen: list them
        }
        return command.getCommandSpec().exitCodeOnInvalidInput();
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine command, ParseResult parseResult) throws Exception {
        if (!(e instanceof OnnxFormatException || e instanceof StructurePatternException
                || e instanceof InputDataException || e instanceof JobMemory.JobTooLargeException)) {
            throw e;
        }
        report(command, e.getMessage());
        return command.getCommandSpec().exitCodeOnInvalidInput();
    }

    private static void report(CommandLine command, String message) {
        command.getErr().println("error: " + message.strip().replaceAll("\\s*\\R\\s*", " "));
    }
}
