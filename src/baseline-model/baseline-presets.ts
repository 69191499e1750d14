/** Architecture sizes, named as in the DistilBERT `config.json`. */
export interface DistilBertDims {
  /** Hidden size. */
  dim: number;
  /** Feed-forward inner size. */
  hidden_dim: number;
  n_heads: number;
  n_layers: number;
  max_position_embeddings: number;
  vocab_size: number;
}

export type BaselinePreset = 'tiny' | 'base';

export const BASELINE_PRESETS: Readonly<Record<BaselinePreset, Readonly<DistilBertDims>>> = {
  // Same depth, positions and vocabulary as the real model, so it exercises the same graph
  // and tokenizer limits, but small enough to load and run in milliseconds in tests.
  tiny: { dim: 32, hidden_dim: 64, n_heads: 2, n_layers: 6, max_position_embeddings: 512, vocab_size: 30522 },
  // distilbert-base-uncased: same parameter count and compute cost as the SST-2 model.
  base: { dim: 768, hidden_dim: 3072, n_heads: 12, n_layers: 6, max_position_embeddings: 512, vocab_size: 30522 },
};

export function isBaselinePreset(value: string): value is BaselinePreset {
  return Object.hasOwn(BASELINE_PRESETS, value);
}

/**
 * The classification head: `sentiment`, SST-2's two exclusive labels (softmax); `multi-label`,
 * three labels each true or not on its own (`problem_type: multi_label_classification`, sigmoid),
 * for proving a multi-label model end to end.
 */
export type BaselineHead = 'sentiment' | 'multi-label';
export const BASELINE_HEADS: readonly BaselineHead[] = ['sentiment', 'multi-label'];

/** Every baseline the generator can write (each preset with each head), so a model id can name any of them. */
export const BASELINE_VARIANTS: readonly { preset: BaselinePreset; head: BaselineHead }[] = (
  Object.keys(BASELINE_PRESETS) as BaselinePreset[]
).flatMap((preset) => BASELINE_HEADS.map((head) => ({ preset, head })));

/** Model id (and folder path below the models directory) of a generated baseline. */
export function baselineModelId(preset: BaselinePreset, head: BaselineHead = 'sentiment'): string {
  return head === 'sentiment'
    ? `sentiment-api/distilbert-sst2-afinn-baseline-${preset}`
    : `sentiment-api/distilbert-afinn-multilabel-baseline-${preset}`;
}

/** Number of trainable parameters of a DistilBERT sequence classifier with two labels. */
export function distilBertParameterCount(dims: DistilBertDims, numLabels = 2): number {
  const { dim, hidden_dim, n_layers, max_position_embeddings, vocab_size } = dims;
  const linear = (inputs: number, outputs: number) => inputs * outputs + outputs;
  const layerNorm = 2 * dim;
  const embeddings = (vocab_size + max_position_embeddings) * dim + layerNorm;
  const block = 4 * linear(dim, dim) + layerNorm + linear(dim, hidden_dim) + linear(hidden_dim, dim) + layerNorm;
  return embeddings + n_layers * block + linear(dim, dim) + linear(dim, numLabels);
}
