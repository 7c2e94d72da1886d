package dev.tierserve.compressor.cli;

import dev.tierserve.jobs.WorkerMain;

/** Registers the compressor's command line for applications that start a worker of their own (the gateway). */
public final class CommandLineEntry implements WorkerMain {

    @Override
    public Class<?> mainClass() {
        return CompressorCommand.class;
    }
}
