package dev.tierserve.gateway.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.RunOptions;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.runtime.LoadedSession;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.runtime.SessionCache;
import dev.tierserve.gateway.runtime.SessionLease;
import dev.tierserve.gateway.tensor.Datatype;
import dev.tierserve.gateway.tensor.DecodedTensor;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sentence embeddings over a BERT-family encoder: UTF-8 sentences are tokenised in the gateway with the model's
 * own {@code tokenizer.json} (DJL's HuggingFace tokenizer), run through the encoder, pooled and L2-normalised.
 */
@ApplicationScoped
public class TextEmbedder {

    public static final String INPUT = "TEXT";
    public static final String OUTPUT = "EMBEDDING";
    private static final String HIDDEN_STATE = "last_hidden_state";

    private final SessionCache sessions;
    private final OrtEnvironment environment;
    private final Map<String, HuggingFaceTokenizer> tokenizers = new ConcurrentHashMap<>();

    public TextEmbedder(SessionCache sessions, OnnxRuntimeFactory runtime) {
        this.sessions = sessions;
        this.environment = runtime.environment();
    }

    /** Sentences of a request: one BYTES input named TEXT of shape [n] or [n, 1]. */
    public List<String> sentences(List<DecodedTensor> inputs, int maxBatchSize) {
        if (inputs.size() != 1 || !inputs.get(0).name().equals(INPUT)) {
            throw invalid("a text model takes exactly one input, '" + INPUT + "' (BYTES, shape [n] or [n,1]); got "
                    + inputs);
        }
        DecodedTensor text = inputs.get(0);
        if (text.datatype() != Datatype.BYTES) {
            throw invalid("input '" + INPUT + "': datatype " + text.datatype() + " where the model expects BYTES");
        }
        long[] shape = text.shape();
        if (shape.length == 0 || shape.length > 2 || (shape.length == 2 && shape[1] != 1)) {
            throw invalid("input '" + INPUT + "': shape " + java.util.Arrays.toString(shape) + " is not [n] or [n,1]");
        }
        if (shape[0] == 0 || shape[0] > maxBatchSize) {
            throw invalid("input '" + INPUT + "': batch " + shape[0] + " is outside 1.." + maxBatchSize);
        }
        List<String> sentences = new ArrayList<>(text.strings().length);
        // Strict decoding: malformed UTF-8 is the client's error, not something to replace silently.
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        for (int i = 0; i < text.strings().length; i++) {
            try {
                sentences.add(utf8.decode(ByteBuffer.wrap(text.strings()[i])).toString());
            } catch (CharacterCodingException e) {
                throw invalid("input '" + INPUT + "': element " + i + " is not valid UTF-8");
            }
        }
        return sentences;
    }

    /** Tokenises sentences with the model's tokenizer ({@code tokenizerFile}), truncated to its sequence length. */
    public Encoding[] tokenize(ModelEntry model, Path tokenizerFile, List<String> sentences) {
        return tokenizer(tokenizerFile, maxSequenceLength(model)).batchEncode(sentences);
    }

    /**
     * Runs the encoder on the session {@code sessionKey} over a padded batch: returns its last hidden state,
     * [batch, tokens, width] flattened. Padding never changes a sentence's values: ONNX Runtime's CPU kernels give
     * the same bits for a sentence alone and padded in a batch (tested), which is what lets requests share a run.
     *
     * @param deadline   bounds the wait for the session, if it must load again (null: none)
     * @param afterBind  called once the input tensors exist, to time the phases
     * @param afterRun   called once ONNX Runtime returned
     */
    public HiddenStates encode(String sessionKey, TokenizedBatch batch, RunOptions runOptions, Deadline deadline,
                               Runnable afterBind, Runnable afterRun) throws InterruptedException, OrtException {
        try (SessionLease lease = sessions.acquire(sessionKey, deadline)) {
            LoadedSession loaded = lease.loaded();
            Map<String, OnnxTensor> inputs = new HashMap<>();
            try {
                inputs.put("input_ids", OnnxTensor.createTensor(environment, batch.inputIds()));
                inputs.put("attention_mask", OnnxTensor.createTensor(environment, batch.attentionMask()));
                if (loaded.inputs().containsKey("token_type_ids")) {
                    inputs.put("token_type_ids", OnnxTensor.createTensor(environment, batch.tokenTypeIds()));
                }
                afterBind.run();
                try (OrtSession.Result result = loaded.session().run(inputs, Set.of(HIDDEN_STATE), runOptions)) {
                    afterRun.run();
                    OnnxTensor hidden = (OnnxTensor) result.get(HIDDEN_STATE).orElseThrow();
                    long[] shape = hidden.getInfo().getShape();
                    float[] flat = new float[(int) (shape[0] * shape[1] * shape[2])];
                    hidden.getFloatBuffer().get(flat);
                    return new HiddenStates(flat, (int) shape[2]);
                }
            } finally {
                inputs.values().forEach(OnnxTensor::close);
            }
        }
    }

    /** An encoder's last hidden state, [batch, tokens, width] flattened. */
    public record HiddenStates(float[] values, int width) {
    }

    private HuggingFaceTokenizer tokenizer(Path file, int maxLength) {
        return tokenizers.computeIfAbsent(file + "#" + maxLength, key -> {
            try {
                return HuggingFaceTokenizer.builder()
                        .optTokenizerPath(file)
                        .optAddSpecialTokens(true)
                        .optTruncation(true)
                        .optMaxLength(maxLength)
                        .optPadding(false)
                        .build();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load tokenizer " + file, e);
            }
        });
    }

    public static Pooling pooling(ModelEntry model) {
        return Pooling.valueOf(model.parameter("pooling", "cls").toUpperCase(Locale.ROOT));
    }

    public static boolean normalize(ModelEntry model) {
        return Boolean.parseBoolean(model.parameter("normalize", "true"));
    }

    private static int maxSequenceLength(ModelEntry model) {
        return Integer.parseInt(model.parameter("max_sequence_length", "512"));
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }

    @PreDestroy
    void close() {
        tokenizers.values().forEach(HuggingFaceTokenizer::close);
    }
}
