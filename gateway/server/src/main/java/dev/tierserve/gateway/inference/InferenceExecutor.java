package dev.tierserve.gateway.inference;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.RunOptions;
import dev.tierserve.gateway.config.GatewayConfig;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded pool of inference workers: requests never run on the gRPC event loop, waiting requests are served by
 * priority level (1 first) and then in arrival order, a full queue (the gateway's, or a model's
 * {@code max_queue_size} for the request's level) is refused at once (RESOURCE_EXHAUSTED), and every request carries
 * a deadline that ends it while it waits or while it runs.
 */
@ApplicationScoped
public class InferenceExecutor {

    /** Work done on a worker; it must pass the run options to every ONNX Runtime call it makes. */
    @FunctionalInterface
    public interface Work<T> {
        T run(RunOptions runOptions, long queueNanos) throws Exception;
    }

    /**
     * Where a request waits: its model and priority level (1 first; 0, a model without levels, counts as 1) and the
     * most requests of that model and level that may wait (0: no bound but the gateway's).
     */
    public record Admission(String model, int priority, int maxQueueSize) {
    }

    private final ThreadPoolExecutor workers;
    private final int queueCapacity;
    private final MeterRegistry meters;
    private final AtomicInteger waiting = new AtomicInteger();
    private final Map<String, AtomicInteger> waitingPerLevel = new ConcurrentHashMap<>();
    private final AtomicLong arrivals = new AtomicLong();
    private final ScheduledExecutorService timers;
    private final Counter terminated;
    private final Counter expiredInQueue;

    public InferenceExecutor(GatewayConfig config, MeterRegistry meters) {
        int threads = config.inference().workers().orElse(Runtime.getRuntime().availableProcessors());
        AtomicInteger ids = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS,
                new PriorityBlockingQueue<>(), runnable -> {
                    Thread thread = new Thread(runnable, "inference-" + ids.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
        this.timers = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "inference-deadlines");
            thread.setDaemon(true);
            return thread;
        });
        this.queueCapacity = config.inference().queueCapacity();
        this.meters = meters;
        this.terminated = meters.counter("gateway.inference.terminated");
        this.expiredInQueue = meters.counter("gateway.inference.expired.queued");
    }

    public int workerCount() {
        return workers.getMaximumPoolSize();
    }

    /** Requests waiting for a worker now. */
    public int queued() {
        return waiting.get();
    }

    /** Requests of {@code model} waiting for a worker now. */
    public int queued(String model) {
        int sum = 0;
        for (Map.Entry<String, AtomicInteger> level : waitingPerLevel.entrySet()) {
            String key = level.getKey();
            if (key.substring(0, key.lastIndexOf('#')).equals(model)) {
                sum += level.getValue().get();
            }
        }
        return sum;
    }

    /** Triton's pending-request gauge of a model: its requests waiting for a worker. */
    private void pendingGauge(String model) {
        Gauge.builder("nv_inference_pending_request_count", () -> queued(model)).tag("model", model).register(meters);
    }

    /**
     * Runs {@code work} on a worker before {@code deadline} (null: none), once {@code ready} has completed (the
     * session it needs, loaded in the background: a cold load holds no worker and the deadline bounds the wait for
     * it). The returned future completes with the work's result or a {@link StatusRuntimeException}:
     * DEADLINE_EXCEEDED, CANCELLED (see {@link Submission#stop}), RESOURCE_EXHAUSTED when the queue is full, the
     * failure of {@code ready}, or whatever status the work threw.
     */
    public <T> Submission<T> submit(Deadline deadline, CompletableFuture<?> ready, Admission admission, Work<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        RunControl control;
        try {
            control = new RunControl();
        } catch (OrtException e) {
            result.completeExceptionally(Status.INTERNAL.withDescription(e.getMessage()).asRuntimeException());
            return new Submission<>(result, null, null, ready);
        }
        Queued task = new Queued(admission, arrivals.incrementAndGet(), () -> runOnWorker(control, work, result));
        Submission<T> submission = new Submission<>(result, control, task, ready);
        if (deadline != null) {
            long delayNanos = Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS));
            ScheduledFuture<?> timer = timers.schedule(
                    () -> submission.stop(Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded")),
                    delayNanos, TimeUnit.NANOSECONDS);
            result.whenComplete((value, error) -> timer.cancel(false));
        }
        ready.whenComplete((value, error) -> {
            if (error != null) {
                control.close();
                result.completeExceptionally(error);
            } else if (result.isDone()) {
                control.close(); // stopped while its session loaded
            } else {
                enqueue(task, control, result);
            }
        });
        return submission;
    }

    private <T> void enqueue(Queued task, RunControl control, CompletableFuture<T> result) {
        Status full = task.join();
        if (full == null) {
            try {
                workers.execute(task);
                return;
            } catch (RejectedExecutionException e) {
                task.leave();
                full = Status.UNAVAILABLE.withDescription("the gateway is stopping");
            }
        }
        control.close();
        result.completeExceptionally(full.asRuntimeException());
    }

    /** A request waiting for a worker, ordered by priority level, then arrival. */
    private final class Queued implements Runnable, Comparable<Queued> {
        private final Admission admission;
        private final long arrival;
        private final Runnable run;
        private final AtomicBoolean inQueue = new AtomicBoolean();

        Queued(Admission admission, long arrival, Runnable run) {
            this.admission = admission;
            this.arrival = arrival;
            this.run = run;
        }

        /** Takes a place in the queue; the reason it is refused, or null. */
        Status join() {
            AtomicInteger level = waitingPerLevel.computeIfAbsent(levelKey(), key -> {
                pendingGauge(admission.model());
                return new AtomicInteger();
            });
            if (level.incrementAndGet() > admission.maxQueueSize() && admission.maxQueueSize() > 0) {
                level.decrementAndGet();
                return Status.RESOURCE_EXHAUSTED.withDescription("the queue of model '" + admission.model()
                        + "' is full (max_queue_size " + admission.maxQueueSize() + " at priority "
                        + admission.priority() + ")");
            }
            if (waiting.incrementAndGet() > queueCapacity) {
                waiting.decrementAndGet();
                level.decrementAndGet();
                return Status.RESOURCE_EXHAUSTED.withDescription("inference queue is full (" + queueCapacity
                        + " requests waiting)");
            }
            inQueue.set(true);
            return null;
        }

        private String levelKey() {
            return admission.model() + "#" + admission.priority();
        }

        /** Leaves the queue (taken by a worker, or removed); once. */
        void leave() {
            if (inQueue.compareAndSet(true, false)) {
                waiting.decrementAndGet();
                waitingPerLevel.get(levelKey()).decrementAndGet();
            }
        }

        @Override
        public void run() {
            leave();
            run.run();
        }

        @Override
        public int compareTo(Queued other) {
            int byLevel = Integer.compare(Math.max(1, admission.priority()), Math.max(1, other.admission.priority()));
            return byLevel != 0 ? byLevel : Long.compare(arrival, other.arrival);
        }
    }

    private <T> void runOnWorker(RunControl control, Work<T> work, CompletableFuture<T> result) {
        try (control) {
            if (!control.start()) {
                return; // stopped while queued: already answered
            }
            try {
                T value = work.run(control.runOptions(), control.queueNanos());
                control.finish();
                if (control.stopReason() != null) {
                    // Stopped so late that ONNX Runtime had already returned: the client gave up on the answer.
                    result.completeExceptionally(control.stopReason().asRuntimeException());
                } else {
                    result.complete(value);
                }
            } catch (Exception e) {
                control.finish();
                Status stopped = control.stopReason();
                if (stopped != null) {
                    terminated.increment();
                    result.completeExceptionally(stopped.augmentDescription(
                            "the running inference was terminated").asRuntimeException());
                } else {
                    result.completeExceptionally(e);
                }
            }
        } catch (RuntimeException | Error e) {
            result.completeExceptionally(e);
        }
    }

    /** A submitted request: its result, and a way to stop it. */
    public final class Submission<T> {
        private final CompletableFuture<T> result;
        private final RunControl control;
        private final Queued task;
        private final CompletableFuture<?> ready;

        Submission(CompletableFuture<T> result, RunControl control, Queued task, CompletableFuture<?> ready) {
            this.result = result;
            this.control = control;
            this.task = task;
            this.ready = ready;
        }

        public CompletableFuture<T> result() {
            return result;
        }

        /**
         * Stops the request (its deadline passed or the client went away) unless it already finished. Returns true
         * when it was still waiting for a worker and has now been answered; a running one answers when terminated.
         */
        public boolean stop(Status reason) {
            if (control == null || !control.stop(reason)) {
                return false;
            }
            if (reason.getCode() == Status.Code.DEADLINE_EXCEEDED) {
                expiredInQueue.increment(); // counted before the answer goes out
            }
            result.completeExceptionally(reason.augmentDescription(ready.isDone() ? "while waiting for a worker"
                    : "while its model was loading").asRuntimeException());
            if (task != null && workers.remove(task)) {
                task.leave();
                control.close(); // no worker will ever see it
            }
            return true;
        }
    }

    @PreDestroy
    void shutdown() {
        timers.shutdownNow();
        workers.shutdownNow();
    }
}
