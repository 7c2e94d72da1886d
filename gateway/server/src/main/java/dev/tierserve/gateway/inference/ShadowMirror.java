package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.rollout.CanaryEvidence;
import dev.tierserve.gateway.runtime.SessionCache;
import dev.tierserve.gateway.tensor.OutputAgreement;
import dev.tierserve.gateway.tier.TierRoute;
import dev.tierserve.gateway.tier.TierRouter;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.store.TierTable;
import io.grpc.Deadline;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Shadow traffic: a sample ({@code shadow_rate}) of the requests a tier with a canary answered is run again, off the
 * request path, on the canary and on {@code exact} (a side that already answered it is not run again), and the
 * agreement of the two answers goes to the judge. The client's answer never waits for it. Shadow work is the first
 * thing dropped under load: it starts only when no request waits for a worker and no other shadow work is running,
 * and otherwise it is dropped and counted ({@code gateway.shadow.dropped}), never queued.
 */
@ApplicationScoped
class ShadowMirror {

    /** Below every request's priority level: a shadow run never overtakes a client's request. */
    private static final int SHADOW_PRIORITY = Integer.MAX_VALUE;
    private static final long SHADOW_DEADLINE_SECONDS = 60;

    private final InferenceExecutor executor;
    private final SessionCache sessions;
    private final TierRouter router;
    private final VariantCatalog catalog;
    private final CanaryEvidence evidence;
    private final Counter dropped;
    private final Counter compared;
    private final Counter failed;
    private final AtomicBoolean running = new AtomicBoolean();

    ShadowMirror(InferenceExecutor executor, SessionCache sessions, TierRouter router, VariantCatalog catalog,
                 CanaryEvidence evidence, MeterRegistry meters) {
        this.executor = executor;
        this.sessions = sessions;
        this.router = router;
        this.catalog = catalog;
        this.evidence = evidence;
        this.dropped = meters.counter("gateway.shadow.dropped");
        this.compared = meters.counter("gateway.shadow.compared");
        this.failed = meters.counter("gateway.shadow.failed");
    }

    /**
     * Offers a request its route answered with {@code answer} for shadowing. Returns at once; never throws.
     */
    void offer(ModelEntry model, TierRoute route, ModelInferRequest request, ModelInferResponse answer,
               ModelRunner runner, BatchPolicy policy) {
        TierTable.Assignment assigned = catalog.of(model.sessionKey()).table().get(route.served().name());
        if (assigned == null || !assigned.hasCanary() || assigned.shadowRate() <= 0
                || ThreadLocalRandom.current().nextDouble() >= assigned.shadowRate()) {
            return;
        }
        if (executor.queued() > 0 || !running.compareAndSet(false, true)) {
            dropped.increment();
            return;
        }
        String tier = route.served().name();
        String canary = assigned.canary();
        try {
            // One after the other: the canary's compute time counts as its evidence, and a canary run beside its own
            // exact run would be slowed by it (on 2 cores, a copy of the stable variant measured 1.3x slower so).
            CompletableFuture<ModelInferResponse> candidate = route.canary()
                    ? CompletableFuture.completedFuture(answer)
                    : run(model, router.route(model, null, canary, true), request, runner, policy)
                    .whenComplete((response, error) -> {
                        if (error != null) {
                            evidence.failed(model.sessionKey(), tier, canary);
                        }
                    });
            TierRoute exactRoute = router.route(model, null, "exact", true);
            candidate.thenCompose(canaryAnswer -> run(model, exactRoute, request, runner, policy)
                    .thenApply(exactAnswer -> OutputAgreement.meanCosine(exactAnswer, canaryAnswer)))
                    .whenComplete((agreement, error) -> {
                        running.set(false);
                        if (error != null) {
                            failed.increment();
                        } else if (agreement.isPresent()) {
                            evidence.compared(model.sessionKey(), tier, canary, agreement.getAsDouble());
                            compared.increment();
                        }
                    });
        } catch (RuntimeException e) {
            running.set(false);
            failed.increment();
        }
    }

    /** Runs the request on {@code route} as shadow work; the canary's compute time counts as its evidence. */
    private CompletableFuture<ModelInferResponse> run(ModelEntry model, TierRoute route, ModelInferRequest request,
                                                      ModelRunner runner, BatchPolicy policy) {
        InferenceExecutor.Admission admission = new InferenceExecutor.Admission(model.name(), SHADOW_PRIORITY, 0);
        InferenceExecutor.Submission submission = executor.submit(
                Deadline.after(SHADOW_DEADLINE_SECONDS, TimeUnit.SECONDS), sessions.load(route.sessionKey()),
                loaded -> runner.prepare(model, route, request, loaded, policy), admission, policy, runner);
        return submission.result().thenApply(executed -> {
            if (!route.variantId().equals(TierRouter.PARENT_VARIANT)) {
                evidence.succeeded(model.sessionKey(), route.served().name(), route.variantId(),
                        executed.inputNanos() + executed.inferNanos() + executed.outputNanos());
            }
            return executed.response().build();
        });
    }
}
