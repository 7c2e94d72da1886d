package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.textRequest;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.langchain4j.model.embedding.onnx.bgesmallenv15.BgeSmallEnV15EmbeddingModel;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The text model's embeddings equal langchain4j's BGE-small-en-v1.5 embeddings of the same sentences. */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class TextModelTest extends ConnectedGatewayTest {

    static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Model compression trades a little accuracy for a lot of speed.",
            "Ünïcödé, emoji 🚀 and punctuation -- all tokenised by the model's own tokenizer!",
            "a",
            "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election "
                    + "produced no evidence that any irregularities took place.");

    static final BgeSmallEnV15EmbeddingModel REFERENCE = new BgeSmallEnV15EmbeddingModel();

    @Test
    void eachSentenceMatchesLangchain4jTo1e5() {
        for (String sentence : SENTENCES) {
            ModelInferResponse response = client.stub.modelInfer(textRequest(sentence));
            assertEquals(List.of(1L, 384L), response.getOutputs(0).getShapeList());
            assertClose(REFERENCE.embed(sentence).content().vector(), response, 0, sentence);
        }
    }

    @Test
    void aPaddedBatchMatchesLangchain4jTo1e5() {
        ModelInferResponse response = client.stub.modelInfer(textRequest(SENTENCES.toArray(String[]::new)));
        assertEquals(List.of((long) SENTENCES.size(), 384L), response.getOutputs(0).getShapeList());
        for (int i = 0; i < SENTENCES.size(); i++) {
            assertClose(REFERENCE.embed(SENTENCES.get(i)).content().vector(), response, i, SENTENCES.get(i));
        }
    }

    private static void assertClose(float[] expected, ModelInferResponse response, int row, String sentence) {
        List<Float> values = response.getOutputs(0).getContents().getFp32ContentsList();
        double norm = 0;
        for (int d = 0; d < 384; d++) {
            float actual = values.get(row * 384 + d);
            norm += actual * actual;
            assertEquals(expected[d], actual, 1e-5, "dimension " + d + " of '" + sentence + "'");
        }
        assertEquals(1.0, Math.sqrt(norm), 1e-5, "embeddings are L2-normalised");
    }
}
