package dev.tierserve.jobs;

/** No job has the id a caller named. */
public final class JobNotFoundException extends RuntimeException {

    public JobNotFoundException(String id) {
        super("no job '" + id + "'");
    }
}
