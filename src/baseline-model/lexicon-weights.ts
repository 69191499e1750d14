import type { BaselineHead, DistilBertDims } from './baseline-presets.js';
import { WORDPIECE_SUBWORD_PREFIX } from './bert-vocabulary.js';
import {
  LAYER_NORM_EPSILON,
  type DistilBertWeights,
  type LayerNormWeights,
  type LinearWeights,
  type TransformerBlockWeights,
} from './distilbert-graph.js';

/** Label order of the SST-2 head: logits[0] is NEGATIVE, logits[1] is POSITIVE. */
export const SENTIMENT_LABELS = ['NEGATIVE', 'POSITIVE'] as const;

/**
 * Labels of the multi-label head, each scored on its own: NEGATIVE and POSITIVE as above, and
 * STRONG for a text worded strongly either way.
 */
export const MULTI_LABELS = ['NEGATIVE', 'POSITIVE', 'STRONG'] as const;

/**
 * The multi-label head's logit for a text with no valence: each label leans towards "no"
 * (sigmoid ≈ 0.12), so a neutral text is neither NEGATIVE, POSITIVE nor STRONG.
 */
const MULTI_LABEL_BIAS = -2;

/**
 * Hidden-state layout. Each feature is a ± pair (+a on one dim, −a on the next), so every
 * vector has mean 0 and LayerNorm (scale 1, bias 0) only rescales it; all other dims stay 0.
 */
const VALENCE_DIM = 0;
const CARRIER_DIM = 2;
/** The carrier is this many times the largest |valence|, keeping LayerNorm's rescaling nearly linear in valence. */
const CARRIER_RATIO = 10;

/** Sentence whose POSITIVE probability fixes the head's scale. */
export const CALIBRATION = { sentence: 'I love you', positiveProbability: 0.99 } as const;

export interface LexiconDesign {
  /** Constant carrier magnitude in the word embeddings. */
  carrier: number;
  /** Slope k of the head: logit(POSITIVE) − logit(NEGATIVE) = k · pooled valence. */
  headScale: number;
  /** Vocabulary tokens that received a non-zero valence. */
  scoredTokens: number;
}

/**
 * Constructs (does not train) DistilBERT weights that score a text by the mean AFINN valence
 * of its tokens:
 * - word embedding = (±valence, ±carrier); `##` pieces and unknown words have valence 0;
 *   position embeddings are 0;
 * - attention: Q = K = 0 makes all scores equal, so the masked softmax is uniform over real
 *   tokens, and V = O = identity hands every position the mean token vector; the FFN is all
 *   zeros (GELU(0) = 0) and adds nothing. Through the residuals [CLS] converges on the mean;
 * - head: pre_classifier emits (k·x, −k·x) from the pooled valence x, ReLU keeps the side that
 *   applies and the classifier routes it to POSITIVE or NEGATIVE.
 * Zero and identity matrices are shared views: the graph stores each densely anyway, and sharing
 * keeps generation memory close to the size of the output file.
 */
export function buildLexiconWeights(
  dims: DistilBertDims,
  vocabulary: readonly string[],
  lexicon: Readonly<Record<string, number>>,
  head: BaselineHead = 'sentiment',
): { weights: DistilBertWeights; design: LexiconDesign } {
  const { dim, hidden_dim, n_layers, max_position_embeddings, vocab_size } = dims;
  if (vocabulary.length !== vocab_size)
    throw new Error(`Vocabulary has ${vocabulary.length} tokens, expected ${vocab_size}`);
  if (dim < 4) throw new Error('dim must hold the valence and carrier pairs');

  const valenceOf = (token: string): number =>
    !token.startsWith(WORDPIECE_SUBWORD_PREFIX) && Object.hasOwn(lexicon, token) ? lexicon[token] : 0;
  const maxValence = Math.max(...Object.values(lexicon).map(Math.abs));
  const carrier = CARRIER_RATIO * maxValence;

  const wordEmbeddings = new Float32Array(vocab_size * dim);
  let scoredTokens = 0;
  vocabulary.forEach((token, id) => {
    const valence = valenceOf(token);
    if (valence !== 0) scoredTokens += 1;
    setPair(wordEmbeddings, id * dim + VALENCE_DIM, valence);
    setPair(wordEmbeddings, id * dim + CARRIER_DIM, carrier);
  });

  const zeroPool = new Float32Array(Math.max(dim * hidden_dim, dim * dim, max_position_embeddings * dim));
  const zeros = (length: number) => zeroPool.subarray(0, length);
  const identity = new Float32Array(dim * dim);
  for (let i = 0; i < dim; i += 1) identity[i * dim + i] = 1;
  const layerNorm: LayerNormWeights = { scale: new Float32Array(dim).fill(1), bias: zeros(dim) };
  const nullLinear = (inputs: number, outputs: number): LinearWeights => ({
    weight: zeros(inputs * outputs),
    bias: zeros(outputs),
  });
  const block: TransformerBlockWeights = {
    query: nullLinear(dim, dim),
    key: nullLinear(dim, dim),
    value: { weight: identity, bias: zeros(dim) },
    output: { weight: identity, bias: zeros(dim) },
    attentionLayerNorm: layerNorm,
    ffnIn: nullLinear(dim, hidden_dim),
    ffnOut: nullLinear(hidden_dim, dim),
    outputLayerNorm: layerNorm,
  };

  const calibrationValences = CALIBRATION.sentence
    .toLowerCase()
    .split(' ')
    .map((word) => {
      if (!vocabulary.includes(word)) throw new Error(`Calibration word "${word}" is not a vocabulary token`);
      return valenceOf(word);
    });
  // [CLS] and [SEP] carry no valence.
  const pooled = simulatePooledValence([0, ...calibrationValences, 0], dims, carrier);
  const p = CALIBRATION.positiveProbability;
  const headScale = Math.log(p / (1 - p)) / pooled;
  if (!Number.isFinite(headScale) || headScale <= 0) throw new Error('Calibration sentence has no positive valence');

  const preClassifier = new Float32Array(dim * dim);
  preClassifier[VALENCE_DIM * dim + 0] = headScale;
  preClassifier[VALENCE_DIM * dim + 1] = -headScale;
  // Hidden unit 0 holds ReLU(k·x) (the positive side), unit 1 ReLU(−k·x) (the negative side).
  const labels: readonly string[] = head === 'sentiment' ? SENTIMENT_LABELS : MULTI_LABELS;
  const classifier = new Float32Array(dim * labels.length);
  const route = (unit: number, label: string) => (classifier[unit * labels.length + labels.indexOf(label)] = 1);
  route(0, 'POSITIVE');
  route(1, 'NEGATIVE');
  if (head === 'multi-label') {
    route(0, 'STRONG');
    route(1, 'STRONG');
  }
  const classifierBias = new Float32Array(labels.length).fill(head === 'sentiment' ? 0 : MULTI_LABEL_BIAS);

  return {
    weights: {
      wordEmbeddings,
      positionEmbeddings: zeros(max_position_embeddings * dim),
      embeddingsLayerNorm: layerNorm,
      blocks: Array.from({ length: n_layers }, () => block),
      preClassifier: { weight: preClassifier, bias: zeros(dim) },
      classifier: { weight: classifier, bias: classifierBias },
    },
    design: { carrier, headScale, scoredTokens },
  };
}

function setPair(target: Float32Array, offset: number, value: number): void {
  target[offset] = value;
  target[offset + 1] = -value;
}

/**
 * Replays the constructed network on (valence, carrier) pairs to find the valence [CLS] ends
 * up with for a fully attended sequence; a state (a, b) stands for the vector (a, −a, b, −b, 0…).
 */
function simulatePooledValence(valences: readonly number[], dims: DistilBertDims, carrier: number): number {
  const layerNorm = ([a, b]: readonly [number, number]): [number, number] => {
    const scale = Math.sqrt((2 * a * a + 2 * b * b) / dims.dim + LAYER_NORM_EPSILON);
    return [a / scale, b / scale];
  };
  let states = valences.map((valence) => layerNorm([valence, carrier]));
  for (let layer = 0; layer < dims.n_layers; layer += 1) {
    const mean = [0, 1].map((k) => states.reduce((sum, state) => sum + state[k], 0) / states.length);
    // Attention adds the mean (residual + LayerNorm); the zero FFN leaves a second LayerNorm.
    states = states.map(([a, b]) => layerNorm(layerNorm([a + mean[0], b + mean[1]])));
  }
  return states[0][0];
}
