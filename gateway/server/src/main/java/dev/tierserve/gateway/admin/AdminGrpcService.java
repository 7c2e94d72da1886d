package dev.tierserve.gateway.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.gateway.rollout.Rollouts;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.proto.admin.AdminServiceGrpc;
import dev.tierserve.proto.admin.ChangeRequest;
import dev.tierserve.proto.admin.ListModelsRequest;
import dev.tierserve.proto.admin.ListModelsResponse;
import dev.tierserve.proto.admin.ModelTiers;
import dev.tierserve.proto.admin.Rollout;
import dev.tierserve.proto.admin.SetCanaryRequest;
import dev.tierserve.proto.admin.SetShadowRequest;
import dev.tierserve.proto.admin.TierRef;
import dev.tierserve.proto.admin.TierState;
import dev.tierserve.proto.admin.VariantInfo;
import dev.tierserve.store.RolloutEvent;
import dev.tierserve.store.StoredVariant;
import dev.tierserve.store.TierTable;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.quarkus.grpc.RegisterInterceptor;
import io.smallrye.common.annotation.Blocking;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * {@code tierserve.admin.v1.AdminService}: what the tiers serve, and their rollouts. Every call passes
 * {@link AdminAuth} first, and runs on a worker thread (it reads and writes the variant store).
 */
@GrpcService
@RegisterInterceptor(AdminAuth.class)
@Blocking
public class AdminGrpcService extends AdminServiceGrpc.AdminServiceImplBase {

    private static final Logger LOG = Logger.getLogger(AdminGrpcService.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ADMIN = "admin";

    private final VariantCatalog catalog;
    private final Rollouts rollouts;

    AdminGrpcService(VariantCatalog catalog, Rollouts rollouts) {
        this.catalog = catalog;
        this.rollouts = rollouts;
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> response) {
        answer(response, () -> {
            ListModelsResponse.Builder list = ListModelsResponse.newBuilder();
            for (String model : catalog.models()) {
                if (!request.getModel().isEmpty() && !request.getModel().equals(model)) {
                    continue;
                }
                VariantCatalog.Snapshot snapshot = catalog.refresh(model);
                ModelTiers.Builder tiers = ModelTiers.newBuilder().setModel(model);
                snapshot.table().tiers().forEach((tier, assigned) -> tiers.addTiers(state(tier, assigned)));
                for (StoredVariant variant : snapshot.variants()) {
                    tiers.addVariants(VariantInfo.newBuilder().setId(variant.id()).setTier(variant.tier())
                            .setMethod(variant.manifest().method())
                            .setMeasuredSpeedup(variant.manifest().measuredSpeedup())
                            .setMeanCosine(Double.isNaN(variant.meanCosine()) ? 0 : variant.meanCosine())
                            .setManifestJson(json(variant)));
                }
                list.addModels(tiers);
            }
            if (!request.getModel().isEmpty() && list.getModelsCount() == 0) {
                throw Status.NOT_FOUND.withDescription("no model '" + request.getModel() + "' with variants; models: "
                        + catalog.models()).asRuntimeException();
            }
            return list.build();
        });
    }

    @Override
    public void getRollout(TierRef request, StreamObserver<Rollout> response) {
        answer(response, () -> rollout(rollouts.state(request.getModel(), request.getTier())));
    }

    @Override
    public void setCanary(SetCanaryRequest request, StreamObserver<Rollout> response) {
        answer(response, () -> rollout(rollouts.setCanary(request.getModel(), request.getTier(),
                request.getVariant(), request.getWeight(), ADMIN, reason(request.getReason(), "set by hand"))));
    }

    @Override
    public void setShadow(SetShadowRequest request, StreamObserver<Rollout> response) {
        answer(response, () -> rollout(rollouts.setShadow(request.getModel(), request.getTier(),
                request.getSampleRate(), ADMIN, request.getReason())));
    }

    @Override
    public void promote(ChangeRequest request, StreamObserver<Rollout> response) {
        answer(response, () -> rollout(rollouts.promote(request.getModel(), request.getTier(), ADMIN,
                reason(request.getReason(), "promoted by hand"), Map.of())));
    }

    @Override
    public void rollback(ChangeRequest request, StreamObserver<Rollout> response) {
        answer(response, () -> rollout(rollouts.rollback(request.getModel(), request.getTier(), ADMIN,
                reason(request.getReason(), "rolled back by hand"), Map.of())));
    }

    private static String reason(String given, String otherwise) {
        return given.isBlank() ? otherwise : given;
    }

    private static Rollout rollout(Rollouts.State state) {
        Rollout.Builder rollout = Rollout.newBuilder().setModel(state.model())
                .setState(state(state.tier(), state.assignment()));
        for (RolloutEvent event : state.history()) {
            rollout.addHistory(dev.tierserve.proto.admin.RolloutEvent.newBuilder().setTime(event.time())
                    .setAction(event.action().name()).setVariant(nonNull(event.variant()))
                    .setFromWeight(event.fromWeight()).setToWeight(event.toWeight()).setActor(event.actor())
                    .setReason(nonNull(event.reason())).putAllValues(event.values()));
        }
        return rollout.build();
    }

    private static TierState state(String tier, TierTable.Assignment assigned) {
        return TierState.newBuilder().setTier(tier).setStable(nonNull(assigned.stable()))
                .setCanary(nonNull(assigned.canary())).setCanaryWeight(assigned.canaryWeight())
                .setShadowRate(assigned.shadowRate()).setFailedChecks(assigned.failedChecks()).build();
    }

    private static String nonNull(String value) {
        return value == null ? "" : value;
    }

    private static String json(StoredVariant variant) {
        try {
            return JSON.writeValueAsString(variant.manifest());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static <T> void answer(StreamObserver<T> response, Supplier<T> call) {
        T result;
        try {
            result = call.get();
        } catch (StatusRuntimeException e) {
            response.onError(e);
            return;
        } catch (UncheckedIOException e) {
            LOG.warnf("admin call failed on the variant store: %s", e.getMessage());
            response.onError(Status.UNAVAILABLE.withDescription("the variant store failed: " + e.getMessage())
                    .asRuntimeException());
            return;
        }
        response.onNext(result);
        response.onCompleted();
    }
}
