package dev.tierserve.store;

/**
 * Quality of a variant encoder against its parent on the test split.
 *
 * @param meanCosine         mean cosine between the variant's and the parent's embedding of each text
 * @param p5Cosine           5th percentile of those cosines
 * @param retrievalAgreement mean overlap of each text's top-10 neighbours by cosine (among the other test texts)
 *                           under the parent and under the variant
 * @param variantAccuracy    accuracy of a classifier trained on parent embeddings of the training texts,
 *                           fed the variant's test embeddings (null without labels)
 * @param parentAccuracy     the same classifier fed the parent's test embeddings
 */
public record EncoderQuality(double meanCosine, double p5Cosine, double retrievalAgreement, Double variantAccuracy,
                             Double parentAccuracy) {
}
