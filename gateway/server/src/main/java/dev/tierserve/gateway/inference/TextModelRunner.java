package dev.tierserve.gateway.inference;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.RunOptions;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.runtime.LoadedSession;
import dev.tierserve.gateway.tensor.OutputEncoder;
import dev.tierserve.gateway.tensor.TensorDecoder;
import dev.tierserve.gateway.text.Pooling;
import dev.tierserve.gateway.text.TextEmbedder;
import dev.tierserve.gateway.text.TokenizedBatch;
import dev.tierserve.gateway.tier.TierRoute;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Deadline;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.List;

/**
 * Serves a text model: BYTES sentences in ({@code TEXT}), FP32 [n, width] embeddings out ({@code EMBEDDING}).
 * Sentences are tokenised before they queue, so that requests batch by token length: a request joins the requests
 * on its session whose longest sentence falls in the same length bucket, and short sentences never pay for padding
 * to long ones.
 */
@ApplicationScoped
class TextModelRunner implements ModelRunner {

    /**
     * Upper bounds of the token-length buckets, 2x apart: padding a sentence to at most twice its length costs less
     * than splitting short sentences into batches too small to gain; longer sentences batch with their own length.
     */
    private static final int[] LENGTH_BUCKETS = {16, 32, 64, 128, 256, 512};

    /**
     * Tokens (rows x their bucket's length) a batch holds at most unless the model's {@code max_batch_tokens}
     * parameter says otherwise: on CPU, ONNX Runtime's matrix products reach their efficiency by about this size, so a
     * bigger batch gains no throughput and only makes its requests wait for each other (gateway/README.md).
     */
    static final int DEFAULT_MAX_BATCH_TOKENS = 256;

    /** A request's sentences, tokenised, and how its model pools them. */
    private record TextRequest(String sessionKey, Encoding[] encodings, Pooling pooling, boolean normalize,
                               boolean raw, Object batchKey, int batchRowLimit) implements Prepared {
        @Override
        public int rows() {
            return encodings.length;
        }
    }

    /** Requests on one session whose longest sentences fall in one length bucket. */
    private record TextBatchKey(String sessionKey, int lengthBucket) {
    }

    private final TextEmbedder embedder;
    private final ModelRepository repository;

    TextModelRunner(TextEmbedder embedder, ModelRepository repository) {
        this.embedder = embedder;
        this.repository = repository;
    }

    @Override
    public Prepared prepare(ModelEntry model, TierRoute route, ModelInferRequest request, LoadedSession session,
                            BatchPolicy policy) {
        for (ModelInferRequest.InferRequestedOutputTensor output : request.getOutputsList()) {
            if (!output.getName().equals(TextEmbedder.OUTPUT)) {
                throw Status.INVALID_ARGUMENT.withDescription("model has no output '" + output.getName()
                        + "'; its outputs: [" + TextEmbedder.OUTPUT + "]").asRuntimeException();
            }
        }
        List<String> sentences = embedder.sentences(TensorDecoder.decode(request), policy.maxRows());
        ModelEntry base = repository.require(model.sessionKey());
        Encoding[] encodings = embedder.tokenize(model, base.directory().resolve(ModelEntry.TOKENIZER_FILENAME),
                sentences);
        int longest = 0;
        for (Encoding encoding : encodings) {
            longest = Math.max(longest, encoding.getIds().length);
        }
        int bucket = bucket(longest);
        Object key = policy.enabled() ? new TextBatchKey(route.sessionKey(), bucket) : null;
        return new TextRequest(route.sessionKey(), encodings, TextEmbedder.pooling(model),
                TextEmbedder.normalize(model), request.getRawInputContentsCount() > 0, key,
                Math.max(1, maxBatchTokens(model) / bucket));
    }

    @Override
    public List<ModelInferResponse.Builder> run(List<Prepared> requests, RunOptions runOptions, Deadline deadline,
                                                ExecutionClock clock) throws Exception {
        List<TextRequest> members = requests.stream().map(TextRequest.class::cast).toList();
        List<Encoding> all = new ArrayList<>();
        members.forEach(member -> all.addAll(List.of(member.encodings())));
        TokenizedBatch batch = TokenizedBatch.pad(all.toArray(Encoding[]::new));
        TextEmbedder.HiddenStates hidden;
        try {
            hidden = embedder.encode(members.get(0).sessionKey(), batch, runOptions, deadline, clock::inputDone,
                    clock::inferDone);
        } catch (OrtException e) {
            throw OrtErrors.toStatus(e);
        }
        List<ModelInferResponse.Builder> responses = new ArrayList<>(members.size());
        int first = 0;
        for (TextRequest member : members) {
            float[] pooled = member.pooling().pool(hidden.values(), batch.attentionMask(), first, member.rows(),
                    batch.tokens(), hidden.width(), member.normalize());
            ModelInferResponse.Builder response = ModelInferResponse.newBuilder();
            OutputEncoder.appendFloats(response, TextEmbedder.OUTPUT, pooled,
                    new long[] {member.rows(), hidden.width()}, member.raw());
            responses.add(response);
            first += member.rows();
        }
        clock.outputDone();
        return responses;
    }

    private static int maxBatchTokens(ModelEntry model) {
        String value = model.parameter("max_batch_tokens", Integer.toString(DEFAULT_MAX_BATCH_TOKENS));
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw Status.FAILED_PRECONDITION.withDescription("model '" + model.name()
                    + "': config.pbtxt parameter max_batch_tokens must be a whole number of tokens, got '" + value
                    + "'").asRuntimeException();
        }
    }

    /** The bucket of a request whose longest sentence has {@code tokens} tokens. */
    static int bucket(int tokens) {
        for (int bound : LENGTH_BUCKETS) {
            if (tokens <= bound) {
                return bound;
            }
        }
        return tokens;
    }
}
