package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelKind;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.repository.ModelState;
import dev.tierserve.gateway.rollout.CanaryEvidence;
import dev.tierserve.gateway.runtime.ExecutionProvider;
import dev.tierserve.gateway.runtime.LoadedSession;
import dev.tierserve.gateway.runtime.ModelLoadException;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.runtime.SessionCache;
import dev.tierserve.gateway.stats.ArrivalRate;
import dev.tierserve.gateway.stats.InferenceTimings;
import dev.tierserve.gateway.stats.LiveLatency;
import dev.tierserve.gateway.stats.ModelStatisticsRecorder;
import dev.tierserve.gateway.stats.ModelStatisticsRegistry;
import dev.tierserve.gateway.stats.TritonMetrics;
import dev.tierserve.gateway.tier.Tier;
import dev.tierserve.gateway.compression.TierJobs;
import dev.tierserve.gateway.tier.TierNotReadyException;
import dev.tierserve.gateway.tier.TierRoute;
import dev.tierserve.gateway.tier.TierRouter;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.MemoryUsage;
import dev.tierserve.proto.inference.ModelConfigRequest;
import dev.tierserve.proto.inference.ModelConfigResponse;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.proto.inference.ModelMetadataRequest;
import dev.tierserve.proto.inference.ModelMetadataResponse;
import dev.tierserve.proto.inference.ModelReadyRequest;
import dev.tierserve.proto.inference.ModelReadyResponse;
import dev.tierserve.proto.inference.ModelStatistics;
import dev.tierserve.proto.inference.ModelStatisticsRequest;
import dev.tierserve.proto.inference.ModelStatisticsResponse;
import dev.tierserve.proto.inference.RepositoryIndexRequest;
import dev.tierserve.proto.inference.RepositoryIndexResponse;
import dev.tierserve.proto.inference.ServerLiveRequest;
import dev.tierserve.proto.inference.ServerLiveResponse;
import dev.tierserve.proto.inference.ServerMetadataRequest;
import dev.tierserve.proto.inference.ServerMetadataResponse;
import dev.tierserve.proto.inference.ServerReadyRequest;
import dev.tierserve.proto.inference.ServerReadyResponse;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.grpc.GrpcService;
import io.quarkus.grpc.RegisterInterceptor;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The Open Inference Protocol v2 endpoint. Handlers validate cheaply on the gRPC thread and hand everything that
 * blocks (loading, inference) to the inference executor or the session loader; nothing here blocks the event loop.
 * RPCs not overridden (streaming inference, repository load/unload) answer UNIMPLEMENTED.
 */
@GrpcService
@RegisterInterceptor(InferenceAuth.class)
@RegisterInterceptor(ClientInFlightLimit.class)
public class InferenceGrpcService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

    private static final Logger LOG = Logger.getLogger(InferenceGrpcService.class);

    /** Protocol extensions this server implements: Triton's names, plus the tier extension of this project. */
    static final List<String> EXTENSIONS = List.of("model_configuration", "statistics", "parameters", "tiers");

    private final ModelRepository repository;
    private final SessionCache sessions;
    private final InferenceExecutor executor;
    private final TierRouter router;
    private final TierJobs jobs;
    private final LiveLatency latency;
    private final ArrivalRate arrivals;
    private final TritonMetrics metrics;
    private final Counter refusedHopeless;
    private final ModelDescriber describer;
    private final ModelStatisticsRegistry statistics;
    private final Readiness readiness;
    private final OnnxModelRunner onnxRunner;
    private final TextModelRunner textRunner;
    private final CanaryEvidence evidence;
    private final ShadowMirror mirror;
    private final OnnxRuntimeFactory runtime;
    private final String version;
    private final int maxBatchSize;

    InferenceGrpcService(ModelRepository repository, SessionCache sessions, InferenceExecutor executor,
                         TierRouter router, TierJobs jobs, LiveLatency latency, ArrivalRate arrivals, TritonMetrics metrics, ModelDescriber describer, ModelStatisticsRegistry statistics,
                         Readiness readiness, OnnxModelRunner onnxRunner, TextModelRunner textRunner,
                         OnnxRuntimeFactory runtime, CanaryEvidence evidence, ShadowMirror mirror,
                         MeterRegistry meters, GatewayConfig config,
                         @ConfigProperty(name = "quarkus.application.version", defaultValue = "dev") String version) {
        this.repository = repository;
        this.sessions = sessions;
        this.executor = executor;
        this.router = router;
        this.jobs = jobs;
        this.latency = latency;
        this.arrivals = arrivals;
        this.metrics = metrics;
        this.refusedHopeless = meters.counter("gateway.inference.refused.deadline");
        this.describer = describer;
        this.statistics = statistics;
        this.readiness = readiness;
        this.onnxRunner = onnxRunner;
        this.textRunner = textRunner;
        this.evidence = evidence;
        this.mirror = mirror;
        this.runtime = runtime;
        this.version = version;
        this.maxBatchSize = config.inference().maxBatchSize();
    }

    // ---- health ---------------------------------------------------------------------------------------------

    @Override
    public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> response) {
        reply(response, ServerLiveResponse.newBuilder().setLive(true).build());
    }

    @Override
    public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> response) {
        reply(response, ServerReadyResponse.newBuilder().setReady(readiness.isReady()).build());
    }

    /** Ready when its session loads: loading it now if needed, so that a corrupt file reports not ready. */
    @Override
    public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> response) {
        answer(response, () -> {
            ModelEntry model = repository.require(request.getName());
            TierRoute route = router.route(model, null, request.getVersion(), true);
            return sessions.load(route.sessionKey())
                    .handle((loaded, error) -> ModelReadyResponse.newBuilder().setReady(error == null).build());
        });
    }

    // ---- metadata -------------------------------------------------------------------------------------------

    @Override
    public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> response) {
        reply(response, ServerMetadataResponse.newBuilder()
                .setName("tierserve")
                .setVersion(version)
                .addAllExtensions(EXTENSIONS)
                .build());
    }

    @Override
    public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> response) {
        answer(response, () -> withSession(request.getName(), request.getVersion(), describer::metadata));
    }

    @Override
    public void modelConfig(ModelConfigRequest request, StreamObserver<ModelConfigResponse> response) {
        answer(response, () -> withSession(request.getName(), request.getVersion(),
                (model, session) -> ModelConfigResponse.newBuilder().setConfig(describer.config(model, session)).build()));
    }

    private <T> CompletableFuture<T> withSession(String name, String version,
                                                 java.util.function.BiFunction<ModelEntry, LoadedSession, T> describe) {
        ModelEntry model = repository.require(name);
        TierRoute route = router.route(model, null, version, true);
        return sessions.load(route.sessionKey()).thenApply(session -> describe.apply(model, session));
    }

    // ---- statistics and repository --------------------------------------------------------------------------

    @Override
    public void modelStatistics(ModelStatisticsRequest request, StreamObserver<ModelStatisticsResponse> response) {
        answer(response, () -> {
            List<ModelEntry> models = request.getName().isEmpty()
                    ? List.copyOf(repository.models()) : List.of(repository.require(request.getName()));
            ModelStatisticsResponse.Builder stats = ModelStatisticsResponse.newBuilder();
            for (ModelEntry model : models) {
                for (String tier : router.tiers(model)) {
                    if (!request.getVersion().isEmpty() && !request.getVersion().equals(tier)) {
                        continue;
                    }
                    ModelStatistics.Builder entry = statistics.recorder(model.name(), tier).snapshot();
                    String key = router.sessionKey(model, tier);
                    LoadedSession loaded = key == null ? null : sessions.ifLoaded(key);
                    if (loaded != null) {
                        entry.addMemoryUsage(MemoryUsage.newBuilder()
                                .setType(runtime.provider() == ExecutionProvider.CUDA ? "GPU" : "CPU")
                                .setId(0)
                                .setByteSize(loaded.weightBytes()));
                    }
                    stats.addModelStats(entry);
                }
            }
            if (!request.getVersion().isEmpty() && stats.getModelStatsCount() == 0) {
                throw Status.NOT_FOUND.withDescription("no model has version '" + request.getVersion() + "'")
                        .asRuntimeException();
            }
            return CompletableFuture.completedFuture(stats.build());
        });
    }

    @Override
    public void repositoryIndex(RepositoryIndexRequest request, StreamObserver<RepositoryIndexResponse> response) {
        RepositoryIndexResponse.Builder index = RepositoryIndexResponse.newBuilder();
        for (ModelEntry model : repository.models()) {
            ModelState state = repository.state(model);
            if (request.getReady() && !state.equals(ModelState.READY)) {
                continue;
            }
            for (String tier : router.tiers(model)) {
                index.addModels(RepositoryIndexResponse.ModelIndex.newBuilder()
                        .setName(model.name()).setVersion(tier).setState(state.state()).setReason(state.reason()));
            }
        }
        reply(response, index.build());
    }

    // ---- inference ------------------------------------------------------------------------------------------

    @Override
    public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> response) {
        long received = System.nanoTime();
        ModelEntry model;
        TierRoute route;
        Deadline deadline;
        InferenceExecutor.Admission admission;
        try {
            model = repository.require(request.getModelName());
            QueuePolicy policy = new QueuePolicy(model);
            int priority = policy.priority(request);
            admission = new InferenceExecutor.Admission(model.name(), priority, policy.maxQueueSize(priority));
            deadline = deadline(request, policy, priority);
        } catch (StatusRuntimeException e) {
            response.onError(e);
            return;
        }
        arrivals.record(model.name());
        CompletionEstimator estimator = new CompletionEstimator(model.name(), latency, arrivals, executor);
        long batch = batchOf(request);
        try {
            Tier tier = requestedTier(request);
            TierRoute tierRoute = Tier.AUTO.equals(tier) && request.getModelVersion().isEmpty()
                    ? router.routeAuto(model, remainingNanos(model, deadline), batch, estimator)
                    : router.route(model, tier, request.getModelVersion(), strictTier(request));
            route = request.getModelVersion().isEmpty() // a pinned version is served as pinned
                    ? router.rollout(model, tierRoute, RoutingKeys.of(request)) : tierRoute;
            refuseHopeless(model, route, deadline, batch, estimator);
        } catch (TierNotReadyException notReady) {
            refuseStrict(model, notReady, deadline, response);
            return;
        } catch (StatusRuntimeException e) {
            response.onError(e);
            return;
        }
        ModelStatisticsRecorder recorder = statistics.recorder(model.name(), route.served().name());
        ModelRunner runner = model.kind() == ModelKind.TEXT_EMBEDDING ? textRunner : onnxRunner;
        BatchPolicy policy = BatchPolicy.of(model, maxBatchSize);

        // The session loads in the background (at most once however many requests wait for it); the request is
        // prepared once it is there and takes a worker only then, and its deadline bounds the wait.
        InferenceExecutor.Submission submission = executor.submit(deadline, sessions.load(route.sessionKey()),
                loaded -> runner.prepare(model, route, request, loaded, policy), admission, policy, runner);

        Context context = Context.current();
        Context.CancellationListener onCancel = cancelled -> submission.stop(
                cancelled.cancellationCause() instanceof TimeoutException
                        ? Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded")
                        : Status.CANCELLED.withDescription("cancelled by the client"));
        context.addListener(onCancel, Runnable::run);

        submission.result().whenComplete((executed, error) -> {
            context.removeListener(onCancel);
            StatusRuntimeException failure = error == null ? null : toStatus(error);
            if (route.degradedFrom() != null
                    && (failure == null || failure.getStatus().getCode() != Status.Code.INVALID_ARGUMENT)) {
                jobs.ensureAll(model, List.of(route.degradedFrom()));
            }
            TritonMetrics.Served served = served(model, route);
            if (failure == null) {
                InferenceTimings timings = new InferenceTimings(executed.queueNanos(), executed.inputNanos(),
                        executed.inferNanos(), executed.outputNanos(), System.nanoTime() - received, executed.rows(),
                        executed.executionRows());
                recorder.recordSuccess(timings);
                metrics.recordSuccess(served, timings);
                latency.record(LiveLatency.series(model.name(), route.sessionKey()), timings.batch(), timings.queue(),
                        timings.input() + timings.infer() + timings.output(), executed.executionRequests());
                ModelInferResponse answer = respond(executed.response(), model, route, request);
                send(response, answer);
                if (router.inRollout(model, route)) {
                    evidence.succeeded(model.sessionKey(), route.served().name(), route.variantId(),
                            timings.input() + timings.infer() + timings.output());
                    if (request.getModelVersion().isEmpty()) {
                        mirror.offer(model, route, request, answer, runner, policy);
                    }
                }
            } else {
                recorder.recordFailure(System.nanoTime() - received);
                metrics.recordFailure(served, failure.getStatus());
                if (isVariantFault(failure.getStatus()) && router.inRollout(model, route)) {
                    evidence.failed(model.sessionKey(), route.served().name(), route.variantId());
                }
                response.onError(failure);
            }
        });
    }

    /**
     * Whether a failure counts against the variant that served it in a canary's judgement: the model failed (or could
     * not load), not the client (bad input, cancelled, its deadline) nor the gateway's admission.
     */
    private static boolean isVariantFault(Status status) {
        return switch (status.getCode()) {
            case INTERNAL, UNKNOWN, UNAVAILABLE, FAILED_PRECONDITION, DATA_LOSS -> true;
            default -> false;
        };
    }

    /** A runner's response with the request's id and where it was served: model, tier, variant. */
    private static ModelInferResponse respond(ModelInferResponse.Builder built, ModelEntry model, TierRoute route,
                                              ModelInferRequest request) {
        built.setModelName(model.name())
                .setModelVersion(route.served().name())
                .setId(request.getId())
                .putParameters("tier", string(route.served().name()))
                .putParameters("variant", string(route.variantId()))
                .putParameters("canary", InferParameter.newBuilder().setBoolParam(route.canary()).build());
        if (route.degradedFrom() != null) {
            built.putParameters("degraded_from", string(route.degradedFrom()));
        }
        if (route.slaMissPredicted()) {
            built.putParameters("sla_miss_predicted", InferParameter.newBuilder().setBoolParam(true).build());
        }
        return built.build();
    }

    /**
     * A strict request for a tier that is not ready: starts the tier's job (once) and answers UNAVAILABLE naming it,
     * as soon as the job has an id or the request's deadline comes, whichever is first.
     */
    private void refuseStrict(ModelEntry model, TierNotReadyException notReady, Deadline deadline,
                              StreamObserver<ModelInferResponse> response) {
        CompletableFuture<String> job = jobs.ensure(model, notReady.tier().name());
        if (deadline != null) {
            job = job.completeOnTimeout("a compression job is being submitted",
                    Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS)), TimeUnit.NANOSECONDS);
        }
        job.whenComplete((told, error) -> response.onError(Status.UNAVAILABLE.withDescription(notReady.getMessage()
                + " (" + (error == null ? told : "no job could be started: " + error.getMessage())
                + "); retry later, or leave out strict_tier to be served by a slower tier").asRuntimeException()));
    }

    /**
     * Refuses at once (DEADLINE_EXCEEDED) a request whose time left is shorter than even a typical run of the variant
     * it was routed to takes after the requests queued now: the queue wait plus its median compute time. Queuing it
     * would only spend a worker on an answer nobody waits for.
     */
    private void refuseHopeless(ModelEntry model, TierRoute route, Deadline deadline, long batch,
                                CompletionEstimator estimator) {
        if (deadline == null) {
            return;
        }
        OptionalLong typical = estimator.computeNanos(route.sessionKey(), batch, 50);
        if (typical.isEmpty()) {
            return;
        }
        long predicted = estimator.queueWaitNanos() + typical.getAsLong();
        long left = deadline.timeRemaining(TimeUnit.NANOSECONDS);
        if (predicted > left) {
            refusedHopeless.increment();
            metrics.recordFailure(served(model, route), Status.DEADLINE_EXCEEDED);
            throw Status.DEADLINE_EXCEEDED.withDescription(String.format(Locale.ROOT,
                    "refused before queueing: %.3f ms left, tier %s typically completes in %.3f ms now",
                    left / 1e6, route.served(), predicted / 1e6)).asRuntimeException();
        }
    }

    /** The metrics series a route's requests count in. */
    private static TritonMetrics.Served served(ModelEntry model, TierRoute route) {
        return new TritonMetrics.Served(model.name(), route.served().name(), route.variantId(), route.canary());
    }

    /** Time left for {@code tier=auto}: the request's deadline, else the model's {@code default_sla_ms}; null: none. */
    private static Long remainingNanos(ModelEntry model, Deadline deadline) {
        if (deadline != null) {
            return deadline.timeRemaining(TimeUnit.NANOSECONDS);
        }
        String sla = model.parameter("default_sla_ms", "");
        if (sla.isEmpty()) {
            return null;
        }
        try {
            return TimeUnit.MILLISECONDS.toNanos(Long.parseLong(sla.strip()));
        } catch (NumberFormatException e) {
            throw Status.FAILED_PRECONDITION.withDescription("model '" + model.name()
                    + "': config.pbtxt parameter default_sla_ms must be whole milliseconds, got '" + sla + "'")
                    .asRuntimeException();
        }
    }

    /** The request's batch size: its first input's first dimension (1 when it has none). */
    private static long batchOf(ModelInferRequest request) {
        return request.getInputsCount() == 0 || request.getInputs(0).getShapeCount() == 0 ? 1
                : Math.max(1, request.getInputs(0).getShape(0));
    }

    private static Tier requestedTier(ModelInferRequest request) {
        InferParameter tier = request.getParametersMap().get("tier");
        if (tier == null) {
            return null;
        }
        if (tier.getParameterChoiceCase() != InferParameter.ParameterChoiceCase.STRING_PARAM) {
            throw Status.INVALID_ARGUMENT.withDescription("parameter 'tier' must be a string such as 'exact' or '2x'")
                    .asRuntimeException();
        }
        return Tier.parse(tier.getStringParam());
    }

    private static boolean strictTier(ModelInferRequest request) {
        InferParameter strict = request.getParametersMap().get("strict_tier");
        if (strict == null) {
            return false;
        }
        if (strict.getParameterChoiceCase() != InferParameter.ParameterChoiceCase.BOOL_PARAM) {
            throw Status.INVALID_ARGUMENT.withDescription("parameter 'strict_tier' must be a bool")
                    .asRuntimeException();
        }
        return strict.getBoolParam();
    }

    /**
     * The earlier of the gRPC deadline and the request's timeout: the protocol's {@code timeout} parameter
     * (microseconds) where the model's queue policy lets it override the policy's default timeout.
     */
    private static Deadline deadline(ModelInferRequest request, QueuePolicy policy, int priority) {
        Deadline deadline = Context.current().getDeadline();
        InferParameter timeout = request.getParametersMap().get("timeout");
        long requested = 0;
        if (timeout != null) {
            requested = switch (timeout.getParameterChoiceCase()) {
                case INT64_PARAM -> timeout.getInt64Param();
                case UINT64_PARAM -> timeout.getUint64Param();
                default -> throw Status.INVALID_ARGUMENT
                        .withDescription("parameter 'timeout' must be an integer number of microseconds")
                        .asRuntimeException();
            };
            if (requested <= 0) {
                throw Status.INVALID_ARGUMENT.withDescription("parameter 'timeout' must be positive, got " + requested)
                        .asRuntimeException();
            }
        }
        long micros = policy.timeoutMicros(priority, requested);
        if (micros > 0) {
            Deadline fromTimeout = Deadline.after(micros, TimeUnit.MICROSECONDS);
            deadline = deadline == null ? fromTimeout : deadline.minimum(fromTimeout);
        }
        return deadline;
    }

    private static InferParameter string(String value) {
        return InferParameter.newBuilder().setStringParam(value).build();
    }

    // ---- replies --------------------------------------------------------------------------------------------

    /** Runs {@code call} and replies with its future's value, mapping every failure to a status. */
    private static <T> void answer(StreamObserver<T> response, java.util.function.Supplier<CompletableFuture<T>> call) {
        CompletableFuture<T> future;
        try {
            future = call.get();
        } catch (RuntimeException e) {
            response.onError(toStatus(e));
            return;
        }
        future.whenComplete((value, error) -> {
            if (error == null) {
                reply(response, value);
            } else {
                response.onError(toStatus(error));
            }
        });
    }

    private static <T> void reply(StreamObserver<T> response, T value) {
        response.onNext(value);
        response.onCompleted();
    }

    /** Sends unless the client already went away (a cancelled call may not be written to). */
    private static <T> void send(StreamObserver<T> response, T value) {
        if (response instanceof ServerCallStreamObserver<T> call && call.isCancelled()) {
            return;
        }
        reply(response, value);
    }

    static StatusRuntimeException toStatus(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof StatusRuntimeException status) {
            return status;
        }
        if (cause instanceof ModelLoadException load) {
            return Status.FAILED_PRECONDITION.withDescription(load.getMessage()).asRuntimeException();
        }
        if (cause instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            return Status.CANCELLED.withDescription("interrupted").asRuntimeException();
        }
        LOG.errorf(cause, "request failed");
        return Status.INTERNAL.withDescription(cause.getClass().getSimpleName() + ": " + cause.getMessage())
                .asRuntimeException();
    }
}
