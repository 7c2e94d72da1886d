package dev.tierserve.jobs;

import java.util.Optional;
import java.util.ServiceLoader;

/**
 * The compressor's command line, where it is packaged beside the caller: a gateway in local mode starts a worker
 * process of its own with it ({@code compressor serve}). The compressor registers an implementation as a
 * {@link ServiceLoader} service; an application built without it finds none and can only use a remote worker.
 */
public interface WorkerMain {

    /** The class whose {@code main} runs the compressor's command line. */
    Class<?> mainClass();

    /** The compressor's command line, if it is on the class path. */
    static Optional<WorkerMain> find() {
        return ServiceLoader.load(WorkerMain.class, WorkerMain.class.getClassLoader()).findFirst();
    }
}
