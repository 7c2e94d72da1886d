package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.awaitCount;
import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.failure;
import static dev.tierserve.gateway.GatewayTestClient.string;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tierserve.gateway.inference.InferenceExecutor;
import dev.tierserve.gateway.rollout.CanaryEvidence;
import dev.tierserve.gateway.rollout.RolloutJudge;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.proto.admin.AdminServiceGrpc;
import dev.tierserve.proto.admin.ChangeRequest;
import dev.tierserve.proto.admin.ListModelsRequest;
import dev.tierserve.proto.admin.Rollout;
import dev.tierserve.proto.admin.SetCanaryRequest;
import dev.tierserve.proto.admin.SetShadowRequest;
import dev.tierserve.proto.admin.TierRef;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.store.FileVariantStore;
import dev.tierserve.store.TierChange;
import dev.tierserve.store.TierTable;
import dev.tierserve.store.VariantStore;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Canary rollouts on real variants of MiniLM (minilm-rollout, tier 1.5x; the stable variant and the good canary are
 * copies of the model, so that they agree with exact and run as fast as each other): the judge promotes the good
 * canary after its steps, rolls back one that disagrees with exact (half its layers dropped) and one that is slow (its
 * output padded with 360 identity products, about 6 times the compute; the test allows 1.5 times); shadowing never changes what the client gets and is
 * dropped, not queued, when requests wait; every admin RPC needs the token. The judge runs when a test calls it (its
 * timer is set to an hour), on evidence counted per request, so nothing here depends on timing.
 */
@QuarkusTest
@TestProfile(RolloutTest.Profile.class)
@QuarkusTestResource(TestModels.class)
class RolloutTest extends ConnectedGatewayTest {

    static final String TOKEN = "rollout-test-token-4f1c9a";
    static final Path TOKEN_FILE = Path.of("target/rollout-test-admin-token");

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Files.createDirectories(TOKEN_FILE.getParent());
                Files.writeString(TOKEN_FILE, TOKEN + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("gateway.admin.token-file", TOKEN_FILE.toString(),
                    "gateway.rollout.interval", "1h",
                    "gateway.rollout.step-weight", "0.25",
                    "gateway.rollout.max-weight", "0.5",
                    "gateway.rollout.failure-threshold", "2",
                    "gateway.rollout.latency-tolerance", "1.5");
        }
    }

    private static final String MODEL = TestModels.ROLLOUT;
    private static final String TIER = "1.5x";
    private static final String STABLE = "stable-copy";
    /**
     * Canary requests a round gives the judge: at least its default min-requests (100), so that latency is compared
     * at p90 over enough requests for one slow run not to decide it.
     */
    private static final int ROUND = 104;
    /** Requests of a round at weight 0.5: their routing keys put at least ROUND of them on the canary. */
    private static final int HALF_ON_CANARY = 260;

    @Inject
    VariantCatalog catalog;

    @Inject
    RolloutJudge judge;

    @Inject
    CanaryEvidence evidence;

    @Inject
    InferenceExecutor executor;

    @Inject
    MeterRegistry meters;

    private int requests;

    @BeforeEach
    void freshRollout() {
        VariantStore store = catalog.store();
        VariantFixtures.publish(store, MODEL, STABLE, VariantFixtures.dropLast(MODEL, 0), 1.5, 0.99);
        VariantFixtures.publish(store, MODEL, "good-copy", VariantFixtures.dropLast(MODEL, 0), 1.5, 0.99);
        VariantFixtures.publish(store, MODEL, "bad-drop3", VariantFixtures.dropLast(MODEL, 3), 1.5, 0.99);
        VariantFixtures.publish(store, MODEL, "slow-padded-360", VariantFixtures.padded(MODEL, 360, 384), 1.5, 0.99);
        resetTiers(MODEL);
        catalog.refresh(MODEL);
        evidence.reset(MODEL, TIER);
    }

    @Test
    void aGoodCanaryStepsUpAndIsPromotedAndARestartResumesItsStep() throws Exception {
        admin().setCanary(SetCanaryRequest.newBuilder().setModel(MODEL).setTier(TIER).setVariant("good-copy")
                .setWeight(0.25).build());
        admin().setShadow(SetShadowRequest.newBuilder().setModel(MODEL).setTier(TIER).setSampleRate(1).build());

        serveAndCompare(ROUND);
        assertEquals(RolloutJudge.Verdict.STEPPED, judge.judgeAll().get(MODEL + "/" + TIER), this::history);
        Rollout stepped = admin().getRollout(TierRef.newBuilder().setModel(MODEL).setTier(TIER).build());
        assertEquals(0.5, stepped.getState().getCanaryWeight(), 1e-9);
        // All of a rollout's state is in the store: a gateway started now over it resumes at this weight.
        TierTable.Assignment restarted = VariantStore.filesystem(storeRoot()).tiers(MODEL).get(TIER);
        assertEquals("good-copy", restarted.canary());
        assertEquals(0.5, restarted.canaryWeight(), 1e-9);

        serveAndCompare(ROUND);
        assertEquals(RolloutJudge.Verdict.PROMOTED, judge.judgeAll().get(MODEL + "/" + TIER), this::history);
        Rollout promoted = admin().getRollout(TierRef.newBuilder().setModel(MODEL).setTier(TIER).build());
        assertEquals("good-copy", promoted.getState().getStable());
        assertEquals("", promoted.getState().getCanary());
        assertEquals(List.of("CANARY", "SHADOW", "STEP", "PROMOTE"), actions(promoted));
        assertEquals(1.0, promoted.getHistory(2).getValuesOrThrow("agreement"), 1e-6, "a copy agrees exactly");
        assertEquals("judge", promoted.getHistory(3).getActor());
    }

    @Test
    void aCanaryThatDisagreesWithExactIsRolledBackAndShadowingNeverChangesTheAnswer() throws Exception {
        admin().setCanary(SetCanaryRequest.newBuilder().setModel(MODEL).setTier(TIER).setVariant("bad-drop3")
                .setWeight(0).build());
        admin().setShadow(SetShadowRequest.newBuilder().setModel(MODEL).setTier(TIER).setSampleRate(1).build());

        List<RolloutJudge.Verdict> verdicts = new ArrayList<>();
        int first = requests;
        List<ModelInferResponse> answers = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            answers.addAll(serveAndCompare(ROUND));
            for (ModelInferResponse answer : answers) {
                assertFalse(answer.getParametersOrThrow("canary").getBoolParam());
                assertEquals(STABLE, answer.getParametersOrThrow("variant").getStringParam());
            }
            verdicts.add(judge.judgeAll().get(MODEL + "/" + TIER));
        }
        assertEquals(List.of(RolloutJudge.Verdict.CHECK_FAILED, RolloutJudge.Verdict.ROLLED_BACK), verdicts,
                this::history);
        // What the clients got is what the stable variant answers, bit for bit, whatever ran in its shadow.
        ModelInferRequest pinned = request(first).toBuilder().setModelVersion(STABLE).build();
        assertEquals(client.stub.modelInfer(pinned).getOutputsList(), answers.get(0).getOutputsList());

        Rollout rolledBack = admin().getRollout(TierRef.newBuilder().setModel(MODEL).setTier(TIER).build());
        assertEquals(STABLE, rolledBack.getState().getStable());
        assertEquals("", rolledBack.getState().getCanary());
        assertEquals(List.of("CANARY", "SHADOW", "CHECK_FAILED", "ROLLBACK"), actions(rolledBack));
        String reason = rolledBack.getHistory(3).getReason();
        assertTrue(reason.contains("agreement with exact"), reason);
        double agreement = rolledBack.getHistory(3).getValuesOrThrow("agreement");
        assertTrue(agreement < rolledBack.getHistory(3).getValuesOrThrow("agreement_floor"), "agreement " + agreement);
        System.out.printf("half the layers dropped: agreement with exact %.4f (floor %.4f)%n", agreement,
                rolledBack.getHistory(3).getValuesOrThrow("agreement_floor"));
    }

    @Test
    void aSlowCanaryIsRolledBackOnLatency() throws Exception {
        admin().setCanary(SetCanaryRequest.newBuilder().setModel(MODEL).setTier(TIER).setVariant("slow-padded-360")
                .setWeight(0.5).build());
        for (int round = 0; round < 2; round++) {
            List<ModelInferResponse> answers = serve(HALF_ON_CANARY);
            long onCanary = answers.stream().filter(a -> a.getParametersOrThrow("canary").getBoolParam()).count();
            assertTrue(onCanary >= ROUND, onCanary + " of " + HALF_ON_CANARY + " on the canary");
            judge.judgeAll();
        }
        Rollout rolledBack = admin().getRollout(TierRef.newBuilder().setModel(MODEL).setTier(TIER).build());
        assertEquals(List.of("CANARY", "CHECK_FAILED", "ROLLBACK"), actions(rolledBack));
        String reason = rolledBack.getHistory(2).getReason();
        assertTrue(reason.contains("p90") && !reason.contains("agreement"), reason); // p90: fewer than 1,000 requests
    }

    @Test
    void aCanaryWhoseComputeAloneMissesTheTiersObjectiveIsRolledBack() {
        String model = TestModels.ROLLOUT_SLO;
        VariantFixtures.publish(catalog.store(), model, STABLE, VariantFixtures.dropLast(model, 0), 1.5, 0.99);
        VariantFixtures.publish(catalog.store(), model, "good-copy", VariantFixtures.dropLast(model, 0), 1.5, 0.99);
        resetTiers(model);
        catalog.refresh(model);
        admin().setCanary(SetCanaryRequest.newBuilder().setModel(model).setTier(TIER).setVariant("good-copy")
                .setWeight(0.5).build());
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < HALF_ON_CANARY; i++) {
                client.stub.modelInfer(bertRequest(model, 1, 32, i).putParameters("tier", string(TIER))
                        .putParameters("routing_key", string("slo-" + i)).build());
            }
            judge.judgeAll();
        }
        Rollout rolledBack = admin().getRollout(TierRef.newBuilder().setModel(model).setTier(TIER).build());
        assertEquals(List.of("CANARY", "CHECK_FAILED", "ROLLBACK"), actions(rolledBack));
        String reason = rolledBack.getHistory(2).getReason();
        assertTrue(reason.contains("objective p50<=0.00 ms") && !reason.contains("stable's"), reason);
        assertEquals(0.001, rolledBack.getHistory(2).getValuesOrThrow("objective_canary_p50_ms"), 1e-9);
    }

    @Test
    void theRoutingKeyIsTheParameterElseTheMetadataElseTheRequestIdAndAPinnedVersionWins() {
        admin().setCanary(SetCanaryRequest.newBuilder().setModel(MODEL).setTier(TIER).setVariant("good-copy")
                .setWeight(0.5).build());
        Metadata.Key<String> header = Metadata.Key.of("x-routing-key", Metadata.ASCII_STRING_MARSHALLER);
        int onCanary = 0;
        for (int i = 0; i < 16; i++) {
            String key = "key-" + i;
            ModelInferRequest plain = bertRequest(MODEL, 1, 8, i).putParameters("tier", string(TIER)).build();
            boolean byParameter = canary(client.stub.modelInfer(plain.toBuilder()
                    .putParameters("routing_key", string(key)).build()));
            Metadata metadata = new Metadata();
            metadata.put(header, key);
            boolean byMetadata = canary(client.stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(metadata))
                    .modelInfer(plain));
            boolean byId = canary(client.stub.modelInfer(plain.toBuilder().setId(key).build()));
            assertEquals(byParameter, byMetadata, key);
            assertEquals(byParameter, byId, key);
            onCanary += byParameter ? 1 : 0;
            ModelInferResponse pinned = client.stub.modelInfer(plain.toBuilder().setModelVersion(STABLE)
                    .putParameters("routing_key", string(key)).build());
            assertFalse(canary(pinned), "model_version pins the stable variant");
        }
        assertTrue(onCanary > 0 && onCanary < 16, onCanary + " of 16 keys on a 50% canary");
    }

    private static boolean canary(ModelInferResponse response) {
        return response.getParametersOrThrow("canary").getBoolParam();
    }

    @Test
    void shadowWorkIsDroppedNotQueuedWhileRequestsWait() throws Exception {
        admin().setCanary(SetCanaryRequest.newBuilder().setModel(MODEL).setTier(TIER).setVariant("good-copy")
                .setWeight(0).build());
        admin().setShadow(SetShadowRequest.newBuilder().setModel(MODEL).setTier(TIER).setSampleRate(1).build());
        GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async = GRPCInferenceServiceGrpc
                .newFutureStub(client.channel).withDeadlineAfter(5, TimeUnit.MINUTES);
        List<com.google.common.util.concurrent.ListenableFuture<ModelInferResponse>> blockers = new ArrayList<>();
        for (int i = 0; i < 4; i++) { // two run, two wait (lengths differ: they cannot share a batch)
            blockers.add(async.modelInfer(bertRequest(MODEL, 16, 250 + i, i).putParameters("priority",
                    InferParameter.newBuilder().setInt64Param(2).build()).build()));
        }
        awaitCount(executor::queued, 2, "two blockers wait");
        double dropped = meters.counter("gateway.shadow.dropped").count();
        double compared = meters.counter("gateway.shadow.compared").count();
        // Priority 1: served as soon as a worker is free, while the other blockers still wait.
        ModelInferResponse answer = client.stub.modelInfer(request(1).toBuilder().putParameters("priority",
                InferParameter.newBuilder().setInt64Param(1).build()).build());
        assertEquals(STABLE, answer.getParametersOrThrow("variant").getStringParam());
        assertEquals(dropped + 1, meters.counter("gateway.shadow.dropped").count(), 0.0);
        for (var blocker : blockers) {
            blocker.get();
        }
        assertEquals(compared, meters.counter("gateway.shadow.compared").count(), 0.0, "nothing was compared");
    }

    @Test
    void everyAdminCallNeedsTheTokenWhichNeverReachesTheLog() {
        List<String> logged = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(String.valueOf(record.getMessage()) + " " + java.util.Arrays.toString(record.getParameters()));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.addHandler(capture);
        try {
            List<Function<AdminServiceGrpc.AdminServiceBlockingStub, Object>> calls = List.of(
                    stub -> stub.listModels(ListModelsRequest.getDefaultInstance()),
                    stub -> stub.getRollout(TierRef.newBuilder().setModel(MODEL).setTier(TIER).build()),
                    stub -> stub.setCanary(SetCanaryRequest.newBuilder().setModel(MODEL).setTier(TIER)
                            .setVariant("good-copy").setWeight(0.1).build()),
                    stub -> stub.setShadow(SetShadowRequest.newBuilder().setModel(MODEL).setTier(TIER)
                            .setSampleRate(0.5).build()),
                    stub -> stub.rollback(ChangeRequest.newBuilder().setModel(MODEL).setTier(TIER).build()),
                    stub -> stub.promote(ChangeRequest.newBuilder().setModel(MODEL).setTier(TIER).build()));
            for (Function<AdminServiceGrpc.AdminServiceBlockingStub, Object> call : calls) {
                String none = failure(Status.Code.UNAUTHENTICATED, () -> call.apply(
                        AdminServiceGrpc.newBlockingStub(client.channel)));
                assertTrue(none.contains("Bearer"), none);
                failure(Status.Code.PERMISSION_DENIED, () -> call.apply(admin("Bearer not-" + TOKEN)));
                failure(Status.Code.UNAUTHENTICATED, () -> call.apply(admin(TOKEN))); // not a bearer token
            }
            for (Function<AdminServiceGrpc.AdminServiceBlockingStub, Object> call : calls.subList(0, 5)) {
                call.apply(admin()); // the right token: each succeeds
            }
            // The last call: promote after the rollback left no canary, a precondition, not an auth failure.
            failure(Status.Code.FAILED_PRECONDITION, () -> calls.get(5).apply(admin()));
        } finally {
            root.removeHandler(capture);
        }
        assertTrue(meters.counter("gateway.admin.refused", "reason", "permission_denied").count() >= 6);
        assertFalse(logged.isEmpty(), "the capture saw the gateway's log");
        assertTrue(logged.stream().noneMatch(line -> line.contains(TOKEN)), "the token was logged");
    }

    private static AdminServiceGrpc.AdminServiceBlockingStub admin() {
        return admin("Bearer " + TOKEN);
    }

    private static AdminServiceGrpc.AdminServiceBlockingStub admin(String authorization) {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), authorization);
        return AdminServiceGrpc.newBlockingStub(client.channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    /** A tier request with its own routing key. */
    private ModelInferRequest request(int key) {
        return bertRequest(MODEL, 1, 32, key).putParameters("tier", string(TIER))
                .putParameters("routing_key", string("client-" + key)).build();
    }

    /** Serves {@code count} requests, one at a time. */
    private List<ModelInferResponse> serve(int count) {
        List<ModelInferResponse> answers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            answers.add(client.stub.modelInfer(request(requests++)));
        }
        return answers;
    }

    /** Serves {@code count} requests, each after the last one's shadow comparison has finished. */
    private List<ModelInferResponse> serveAndCompare(int count) throws InterruptedException {
        List<ModelInferResponse> answers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int before = (int) meters.counter("gateway.shadow.compared").count();
            answers.add(client.stub.modelInfer(request(requests++)));
            awaitCount(() -> (int) meters.counter("gateway.shadow.compared").count(), before + 1,
                    "the request's shadow comparison");
        }
        return answers;
    }

    private String history() {
        return admin().getRollout(TierRef.newBuilder().setModel(MODEL).setTier(TIER).build()).getHistoryList()
                .toString();
    }

    private static List<String> actions(Rollout rollout) {
        return rollout.getHistoryList().stream().map(e -> e.getAction()).toList();
    }

    private Path storeRoot() {
        return ((FileVariantStore) catalog.store()).root();
    }

    /** A tier table with the stable variant alone and no history. */
    private void resetTiers(String model) {
        try {
            Files.deleteIfExists(storeRoot().resolve(model).resolve(FileVariantStore.TIERS_FILE));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        catalog.store().updateTiers(model, new TierChange.Stable(TIER, STABLE));
    }
}
