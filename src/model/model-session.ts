import { Tensor, type PreTrainedModel, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { Settings } from '../config/settings.js';
import { defaultScoreFunction, type ScoreFunction } from './label-scores.js';
import { fingerprint } from './model-files.js';
import type { ModelLoadOptions, ModelSource, ResolvedModel } from './model-resolution.js';
import { tokenizeTexts, unpackSequences } from './token-sequences.js';

export interface ModelInfo {
  /** Full id, e.g. `Xenova/distilbert-base-uncased-finetuned-sst-2-english`. */
  id: string;
  /** The id's last segment, as the FastAPI original reported it in `model`. */
  name: string;
  source: ModelSource;
  fingerprint: string;
  labels: string[];
  /** The config's `problem_type` (`single_label_classification`, `multi_label_classification`), if it says. */
  problemType?: string;
  /** How scores are computed unless a request says otherwise: from `problemType` and the label count. */
  scoreFunction: ScoreFunction;
  dtype: Settings['modelDtype'];
  maxSequenceLength: number;
  backend: 'onnxruntime-node';
  threads: number;
  /** Set once the model is loaded and warmed up (model-runtime.ts). */
  loadTimeMs: number;
}

/** What the service tells about a resolved model, from its config and tokenizer. */
export function describeModel(
  { id, source, sha256, tokenizer, model }: ResolvedModel,
  options: ModelLoadOptions,
): ModelInfo {
  const config = model.config as unknown as {
    id2label: Record<string, string>;
    max_position_embeddings?: number;
    problem_type?: string;
  };
  const labels = Object.keys(config.id2label)
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => config.id2label[key]);
  return {
    id,
    name: id.split('/').pop() ?? id,
    source,
    fingerprint: fingerprint(sha256),
    labels,
    ...(config.problem_type === undefined ? {} : { problemType: config.problem_type }),
    scoreFunction: defaultScoreFunction(config.problem_type, labels.length),
    dtype: options.modelDtype,
    maxSequenceLength: Math.min(
      Number(tokenizer.model_max_length) || Infinity,
      config.max_position_embeddings ?? Infinity,
    ),
    backend: 'onnxruntime-node',
    threads: options.threads,
    loadTimeMs: 0,
  };
}

/**
 * The tokenizer and ONNX session of one loaded model, and model calls on them. Plain class; the
 * service runs it on a worker thread because ONNX Runtime's `run` and the tokenizer are
 * synchronous and would stall the event loop.
 */
export class ModelSession {
  constructor(
    readonly info: ModelInfo,
    readonly tokenizer: PreTrainedTokenizer,
    private readonly model: PreTrainedModel,
  ) {}

  /** Tokenizes and classifies, as the service does in two steps (tokenizer worker, then this one). */
  classify(texts: readonly string[]): Promise<Float32Array> {
    return this.classifySequences(unpackSequences(tokenizeTexts(this.tokenizer, texts, this.info.maxSequenceLength)));
  }

  /**
   * One model call on token sequences (special tokens included): padded on the right to the
   * longest, with an attention mask, as the tokenizer's own padding would, so logits match. Answers
   * the logits, one row of `labels.length` per sequence: scores are the caller's choice.
   */
  async classifySequences(sequences: readonly Int32Array[]): Promise<Float32Array> {
    if (sequences.length === 0) return new Float32Array();
    const rows = sequences.length;
    const width = Math.max(...sequences.map((sequence) => sequence.length));
    const ids = new BigInt64Array(rows * width).fill(BigInt(this.tokenizer.pad_token_id ?? 0));
    const mask = new BigInt64Array(rows * width);
    sequences.forEach((sequence, row) => {
      for (let column = 0; column < sequence.length; column++) {
        ids[row * width + column] = BigInt(sequence[column]);
        mask[row * width + column] = 1n;
      }
    });
    const { logits } = (await this.model({
      input_ids: new Tensor('int64', ids, [rows, width]),
      attention_mask: new Tensor('int64', mask, [rows, width]),
    })) as { logits: Tensor };
    // A copy the worker can transfer: the tensor's buffer may be ONNX Runtime's own.
    return Float32Array.from(logits.data as Float32Array);
  }
}
