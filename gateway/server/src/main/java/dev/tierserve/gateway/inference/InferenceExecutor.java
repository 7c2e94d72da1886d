package dev.tierserve.gateway.inference;

import ai.onnxruntime.OrtException;
import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.runtime.LoadedSession;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A bounded pool of inference workers: requests never run on the gRPC event loop. A request takes its place in the
 * queue when it arrives (a full queue, the gateway's or its model's {@code max_queue_size} at its priority level, is
 * refused at once with RESOURCE_EXHAUSTED), is prepared (decoded, tokenised) once its session is loaded, and then
 * waits for a worker, served by priority level (1 first) and then in arrival order. A worker runs it in one
 * {@link Execution} together with the compatible requests waiting behind it where its model batches (see
 * {@link BatchPolicy}). Every request carries a deadline that ends it while it waits or while it runs.
 */
@ApplicationScoped
public class InferenceExecutor {

    /**
     * Where a request waits: its model and priority level (1 first; 0, a model without levels, counts as 1) and the
     * most requests of that model and level that may wait (0: no bound but the gateway's).
     */
    public record Admission(String model, int priority, int maxQueueSize) {
    }

    /**
     * A request's share of an execution: its response and its phase times in nanoseconds (input includes its own
     * preparation), its rows, the rows of the whole execution where this request is the one that counts the
     * execution (0 for the others, so that executions are counted once), and how many requests the execution ran.
     */
    record Executed(ModelInferResponse.Builder response, long queueNanos, long inputNanos, long inferNanos,
                    long outputNanos, int rows, int executionRows, int executionRequests) {
    }

    private final ThreadPoolExecutor workers;
    private final ThreadPoolExecutor preparers;
    private final int queueCapacity;
    private final MeterRegistry meters;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private final Map<String, AtomicInteger> waitingPerLevel = new ConcurrentHashMap<>();
    private final AtomicLong arrivals = new AtomicLong();
    private final Map<GatheringKey, Gathering> gatherings = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timers;
    private final Counter terminated;
    private final Counter expiredInQueue;

    public InferenceExecutor(GatewayConfig config, MeterRegistry meters) {
        int threads = config.inference().workers().orElse(Runtime.getRuntime().availableProcessors());
        this.workers = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS,
                new PriorityBlockingQueue<>(), daemons("inference-"));
        this.preparers = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), daemons("inference-prepare-"));
        this.timers = Executors.newSingleThreadScheduledExecutor(daemons("inference-deadlines-"));
        this.queueCapacity = config.inference().queueCapacity();
        this.meters = meters;
        this.terminated = meters.counter("gateway.inference.terminated");
        this.expiredInQueue = meters.counter("gateway.inference.expired.queued");
        Gauge.builder("gateway.inference.running", running, AtomicInteger::get).register(meters);
    }

    private static java.util.concurrent.ThreadFactory daemons(String prefix) {
        AtomicInteger ids = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + ids.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    public int workerCount() {
        return workers.getMaximumPoolSize();
    }

    /** Requests that have arrived and not yet started: loading, being prepared, or waiting for a worker. */
    public int queued() {
        return waiting.get();
    }

    /** Requests in an ONNX Runtime call now. */
    public int running() {
        return running.get();
    }

    /** Requests of {@code model} that have arrived and not yet started. */
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

    /** Triton's pending-request gauge of a model: its requests that have arrived and not yet started. */
    private void pendingGauge(String model) {
        Gauge.builder("nv_inference_pending_request_count", () -> queued(model)).tag("model", model).register(meters);
    }

    /**
     * Runs a request before {@code deadline} (null: none): once {@code session} has loaded (in the background: a cold
     * load holds no worker, and the deadline bounds the wait for it), {@code prepare} validates and prepares it on a
     * preparing thread, and then it waits for a worker, which runs it with {@code runner}, alone or batched by
     * {@code policy}. The result completes with its share of the execution or a {@link StatusRuntimeException}:
     * RESOURCE_EXHAUSTED when the queue is full, DEADLINE_EXCEEDED, CANCELLED (see {@link Submission#stop}), the
     * failure of the load or of {@code prepare}, or whatever status the execution failed with.
     */
    Submission submit(Deadline deadline, CompletableFuture<LoadedSession> session,
                      Function<LoadedSession, Prepared> prepare, Admission admission, BatchPolicy policy,
                      ModelRunner runner) {
        Queued task = new Queued(admission, arrivals.incrementAndGet(), policy, runner, deadline);
        Submission submission = new Submission(task, session);
        Status full = task.join();
        if (full != null) {
            task.result.completeExceptionally(full.asRuntimeException());
            return submission;
        }
        if (deadline != null) {
            long delayNanos = Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS));
            ScheduledFuture<?> timer = timers.schedule(
                    () -> submission.stop(Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded")),
                    delayNanos, TimeUnit.NANOSECONDS);
            task.result.whenComplete((value, error) -> timer.cancel(false));
        }
        session.thenApplyAsync(loaded -> {
            long start = System.nanoTime();
            Prepared prepared = prepare.apply(loaded);
            task.prepareNanos = System.nanoTime() - start;
            return prepared;
        }, preparers).whenComplete((prepared, error) -> {
            if (error != null) {
                task.leave();
                task.result.completeExceptionally(error);
            } else if (task.result.isDone()) {
                task.leave(); // stopped while it loaded or was prepared
            } else {
                task.prepared = prepared;
                enqueue(task);
            }
        });
        return submission;
    }

    private void enqueue(Queued task) {
        task.enqueuedNanos = System.nanoTime();
        if (task.policy.enabled() && task.policy.maxQueueDelayNanos() > 0 && task.prepared.batchKey() != null
                && joinGathering(task)) {
            return;
        }
        try {
            workers.execute(task);
        } catch (RejectedExecutionException e) {
            task.leave();
            task.result.completeExceptionally(Status.UNAVAILABLE.withDescription("the gateway is stopping")
                    .asRuntimeException());
        }
    }

    /**
     * Where the model waits to fill batches: joins the batch forming for the request's key and level (true), or
     * starts one that it leads (false: it still has to queue for a worker). A batch forms from the moment its first
     * request queues, so that no idle worker takes the requests meant to join it.
     */
    private boolean joinGathering(Queued task) {
        GatheringKey key = task.gatheringKey();
        while (true) {
            Gathering forming = gatherings.get(key);
            if (forming != null && forming.offer(task)) {
                return true;
            }
            Gathering mine = new Gathering(task);
            if (forming == null ? gatherings.putIfAbsent(key, mine) == null : gatherings.replace(key, forming, mine)) {
                task.gathering = mine;
                return false;
            }
        }
    }

    /** A batch's first request left without running: the requests that joined its batch queue again. */
    private void disband(Queued leader) {
        closeGathering(leader).forEach(this::enqueue);
    }

    /** Closes the batch forming around {@code leader}, if it leads one: the requests that joined it. */
    private List<Queued> closeGathering(Queued leader) {
        Gathering gathering = leader.gathering;
        if (gathering == null) {
            return List.of();
        }
        gatherings.remove(leader.gatheringKey(), gathering);
        return gathering.close();
    }

    private record GatheringKey(Object batchKey, int priority) {
    }

    /** The most rows of a batch led by {@code leader}. */
    private static int rowLimit(Queued leader) {
        return Math.min(leader.policy.maxRows(), leader.prepared.batchRowLimit());
    }

    /** A batch forming around its first request while that request waits, up to its row limit. */
    private static final class Gathering {
        private final int maxRows;
        private final int targetRows;
        private final List<Queued> joined = new ArrayList<>();
        private int rows;
        private boolean closed;

        Gathering(Queued leader) {
            this.maxRows = rowLimit(leader);
            this.targetRows = Math.min(leader.policy.targetRows(), maxRows);
            this.rows = leader.prepared.rows();
        }

        synchronized boolean offer(Queued task) {
            if (closed || rows + task.prepared.rows() > maxRows) {
                return false;
            }
            joined.add(task);
            rows += task.prepared.rows();
            notifyAll();
            return true;
        }

        /** Waits until the batch has its target rows or {@code untilNanos} (System.nanoTime) comes. */
        synchronized void await(long untilNanos) throws InterruptedException {
            long left;
            while (rows < targetRows && (left = untilNanos - System.nanoTime()) > 0) {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }

        /** Takes no more requests; returns those that joined. */
        synchronized List<Queued> close() {
            closed = true;
            List<Queued> all = List.copyOf(joined);
            joined.clear();
            return all;
        }
    }

    /** A request from arrival to its start, ordered in the worker queue by priority level, then arrival. */
    private final class Queued implements Runnable, Comparable<Queued> {
        final Admission admission;
        final long arrival;
        final BatchPolicy policy;
        final ModelRunner runner;
        final Deadline deadline;
        final RunControl control = new RunControl();
        final CompletableFuture<Executed> result = new CompletableFuture<>();
        private final AtomicBoolean inQueue = new AtomicBoolean();
        volatile Prepared prepared;
        volatile long prepareNanos;
        volatile long enqueuedNanos;
        /** The batch forming around it while it waits, when it leads one. */
        volatile Gathering gathering;

        Queued(Admission admission, long arrival, BatchPolicy policy, ModelRunner runner, Deadline deadline) {
            this.admission = admission;
            this.arrival = arrival;
            this.policy = policy;
            this.runner = runner;
            this.deadline = deadline;
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

        /** Where it batches while requests wait to fill batches: its batch key, within its priority level. */
        GatheringKey gatheringKey() {
            return new GatheringKey(prepared.batchKey(), admission.priority());
        }

        private String levelKey() {
            return admission.model() + "#" + admission.priority();
        }

        /** Gives its place in the queue back (started, answered, or failed); once. */
        void leave() {
            if (inQueue.compareAndSet(true, false)) {
                waiting.decrementAndGet();
                waitingPerLevel.get(levelKey()).decrementAndGet();
            }
        }

        @Override
        public void run() {
            leave();
            runAsLeader(this);
        }

        @Override
        public int compareTo(Queued other) {
            int byLevel = Integer.compare(Math.max(1, admission.priority()), Math.max(1, other.admission.priority()));
            return byLevel != 0 ? byLevel : Long.compare(arrival, other.arrival);
        }
    }

    /** On a worker: runs {@code leader} and, where its model batches, the compatible requests waiting behind it. */
    private void runAsLeader(Queued leader) {
        try (Execution execution = new Execution()) {
            if (!leader.control.start(execution)) {
                disband(leader);
                return; // stopped while queued: already answered
            }
            List<Queued> members = new ArrayList<>();
            members.add(leader);
            if (leader.policy.enabled() && leader.prepared.batchKey() != null) {
                gather(leader, members, execution);
            }
            execute(members, execution);
        } catch (OrtException e) {
            leader.result.completeExceptionally(Status.INTERNAL.withDescription(e.getMessage()).asRuntimeException());
        } catch (RuntimeException | Error e) {
            leader.result.completeExceptionally(e);
        }
    }

    /**
     * Completes the leader's batch: the requests that joined it while it waited (see {@link #joinGathering}), after
     * waiting for more until it has the policy's target rows or has waited the policy's delay; then the compatible
     * requests waiting in the queue, best first, while the rows allow.
     */
    private void gather(Queued leader, List<Queued> members, Execution execution) {
        Gathering gathering = leader.gathering;
        if (gathering != null) {
            try {
                gathering.await(leader.enqueuedNanos + leader.policy.maxQueueDelayNanos());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (Queued joined : closeGathering(leader)) {
                joined.leave();
                if (joined.control.start(execution)) {
                    members.add(joined);
                }
            }
        }
        Object key = leader.prepared.batchKey();
        int rows = members.stream().mapToInt(member -> member.prepared.rows()).sum();
        Object[] waitingNow = workers.getQueue().toArray();
        Arrays.sort(waitingNow);
        for (Object element : waitingNow) {
            Queued candidate = (Queued) element;
            if (rows + candidate.prepared.rows() <= rowLimit(leader)
                    && key.equals(candidate.prepared.batchKey()) && workers.remove(candidate)) {
                candidate.leave();
                disband(candidate);
                if (candidate.control.start(execution)) {
                    members.add(candidate);
                    rows += candidate.prepared.rows();
                }
            }
        }
    }

    /**
     * Runs the members still waiting for an answer in one call and answers each with its share. When a batch of
     * several fails (one member's bad data can fail the whole call), each member runs again alone, so that only the
     * one at fault fails.
     */
    private void execute(List<Queued> members, Execution execution) {
        List<Queued> live = members.stream().filter(member -> !member.control.stopped()).toList();
        if (live.isEmpty() || !execution.begin()) {
            return;
        }
        ExecutionClock clock = new ExecutionClock();
        List<ModelInferResponse.Builder> responses;
        running.addAndGet(live.size());
        try {
            responses = live.get(0).runner.run(live.stream().map(member -> member.prepared).toList(),
                    execution.runOptions(), live.get(0).deadline, clock);
        } catch (Exception e) {
            execution.end();
            running.addAndGet(-live.size());
            if (answerTerminator(live, execution)) {
                return; // the others left while it ran, and were answered then
            }
            if (live.size() > 1) {
                live.forEach(member -> execute(List.of(member), execution));
                return;
            }
            if (live.get(0).control.finish()) {
                live.get(0).result.completeExceptionally(e);
            }
            return;
        }
        execution.end();
        running.addAndGet(-live.size());
        answerTerminator(live, execution); // terminated so late that ONNX Runtime had already returned
        int rows = live.stream().mapToInt(member -> member.prepared.rows()).sum();
        boolean counted = false;
        for (int i = 0; i < live.size(); i++) {
            Queued member = live.get(i);
            if (member.control.finish()) {
                long queue = member.control.sinceSubmitted() - member.prepareNanos;
                member.result.complete(new Executed(responses.get(i), Math.max(0, queue),
                        member.prepareNanos + clock.input(), clock.infer(), clock.output(), member.prepared.rows(),
                        counted ? 0 : rows, live.size()));
                counted = true;
            }
        }
    }

    /** Answers the member whose leaving terminated the execution, if one did, now that ONNX Runtime has returned. */
    private boolean answerTerminator(List<Queued> members, Execution execution) {
        Object terminator = execution.terminator();
        for (Queued member : members) {
            if (member.control == terminator) {
                terminated.increment(); // counted before the answer goes out
                member.result.completeExceptionally(member.control.stopReason()
                        .augmentDescription("the running inference was terminated").asRuntimeException());
                return true;
            }
        }
        return false;
    }

    /** A submitted request: its result, and a way to stop it. */
    final class Submission {
        private final Queued task;
        private final CompletableFuture<LoadedSession> session;

        Submission(Queued task, CompletableFuture<LoadedSession> session) {
            this.task = task;
            this.session = session;
        }

        CompletableFuture<Executed> result() {
            return task.result;
        }

        /**
         * Stops the request (its deadline passed or the client went away) unless it already finished, and answers it
         * with {@code reason}: a waiting request never runs, a running one leaves its execution (terminated when no
         * other request is left in it). Returns whether it was stopped.
         */
        boolean stop(Status reason) {
            RunControl.Stop stopped = task.control.stop(reason);
            String where = switch (stopped) {
                case NONE, TERMINATED -> null;
                case QUEUED -> task.prepared != null ? "while waiting for a worker"
                        : session.isDone() ? "while it was prepared" : "while its model was loading";
                case LEFT_BATCH -> "while running; it left its batch, which runs on for the others";
            };
            if (where == null) {
                return stopped == RunControl.Stop.TERMINATED; // its worker answers once the call has returned
            }
            if (stopped == RunControl.Stop.QUEUED && reason.getCode() == Status.Code.DEADLINE_EXCEEDED) {
                expiredInQueue.increment(); // counted before the answer goes out
            }
            task.result.completeExceptionally(reason.augmentDescription(where).asRuntimeException());
            if (stopped == RunControl.Stop.QUEUED) {
                if (workers.remove(task)) {
                    disband(task);
                }
                task.leave();
            }
            return true;
        }
    }

    @PreDestroy
    void shutdown() {
        timers.shutdownNow();
        preparers.shutdownNow();
        workers.shutdownNow();
    }
}
