package dev.tierserve.compressor.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The commands' up-front checks of the files they read, so that a wrong path fails before any work is done, with
 * the option it came from. What a file holds is checked where it is read.
 */
final class InputFiles {

    private InputFiles() {
    }

    /** A readable regular file. */
    static Path file(CommandSpec spec, String option, Path file) {
        if (Files.isDirectory(file)) {
            throw new ParameterException(spec.commandLine(), option + ": " + file + " is a directory, not a file");
        }
        if (!Files.isRegularFile(file)) {
            throw new ParameterException(spec.commandLine(), option + ": no such file: " + file);
        }
        if (!Files.isReadable(file)) {
            throw new ParameterException(spec.commandLine(), option + ": cannot read " + file);
        }
        return file;
    }

    /** The tokenizer given, or the {@code tokenizer.json} beside the model. */
    static Path tokenizer(CommandSpec spec, Path given, Path model) {
        if (given != null) {
            return file(spec, "--tokenizer", given);
        }
        Path beside = model.toAbsolutePath().resolveSibling("tokenizer.json");
        if (!Files.isRegularFile(beside)) {
            throw new ParameterException(spec.commandLine(), "no tokenizer.json beside " + model + " (looked for "
                    + beside + "); name the model's tokenizer with --tokenizer");
        }
        return file(spec, "--tokenizer", beside);
    }

    /** {@code brown} (the bundled corpus) or a readable text/JSONL file. */
    static String data(CommandSpec spec, String option, String data) {
        if (!data.equals("brown")) {
            file(spec, option, Path.of(data));
        }
        return data;
    }

    static Path directory(CommandSpec spec, String option, Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new ParameterException(spec.commandLine(), option + ": no such directory: " + directory);
        }
        return directory;
    }
}
