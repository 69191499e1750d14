import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  env as transformersEnv,
  LogLevel as TransformersLogLevel,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  Tensor,
} from '@huggingface/transformers';
import type { Settings } from '../config/settings.js';
import {
  BASELINE_VARIANTS,
  baselineModelId,
  writeBaselineModel,
  type BaselineHead,
} from '../baseline-model/write-baseline-model.js';
import { downloadFailure, refusedStatus, useHub } from './hub-access.js';
import { defaultScoreFunction, type ScoreFunction } from './label-scores.js';
import {
  ChecksumMismatchError,
  fingerprint,
  hasLocalModel,
  modelFolder,
  onnxFileName,
  sha256File,
} from './model-files.js';
import { tokenizeTexts, unpackSequences } from './token-sequences.js';

export type ModelSource = 'local' | 'hub' | 'baseline';

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
  loadTimeMs: number;
}

/** One timed model call of a known shape, made at load so the scheduler's cost model starts from this machine. */
export interface TimedCall {
  texts: number;
  paddedLength: number;
  seconds: number;
}

/**
 * Shapes timed at load: a lone short text (the per-call cost), a batch of medium texts (the
 * per-token cost) and long texts (attention's share). About 1,000 tokens: well under a second
 * on DistilBERT-base.
 */
const CALIBRATION_SHAPES = [
  { texts: 1, paddedLength: 16 },
  { texts: 8, paddedLength: 64 },
  { texts: 2, paddedLength: 256 },
] as const;

/** The settings the runtime needs, plus the thread count already decided by the caller. */
export type ModelRuntimeOptions = Pick<
  Settings,
  | 'modelId'
  | 'modelDir'
  | 'modelDtype'
  | 'allowRemoteModels'
  | 'hubEndpoint'
  | 'hubToken'
  | 'modelRevision'
  | 'modelSha256'
  | 'modelFallback'
  | 'baselinePreset'
> & { threads: number };

export type RuntimeLog = (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>) => void;

/**
 * Tokenizer plus ONNX session of one model: finds the files (local → hub → baseline), loads
 * them, warms up, and classifies. Plain class; the service runs it on a worker thread because
 * ONNX Runtime's `run` and the tokenizer are synchronous and would stall the event loop.
 */
export class ModelRuntime {
  /** The calls timed at load (see CALIBRATION_SHAPES). */
  readonly calibration: TimedCall[] = [];

  private constructor(
    readonly info: ModelInfo,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly model: PreTrainedModel,
  ) {}

  static async load(options: ModelRuntimeOptions, log: RuntimeLog): Promise<ModelRuntime> {
    const started = performance.now();
    const modelDir = resolve(options.modelDir);
    // Downloads land where local files are looked up, so a model fetched once is local next time.
    transformersEnv.localModelPath = modelDir;
    transformersEnv.cacheDir = modelDir;
    transformersEnv.allowLocalModels = true;
    transformersEnv.logLevel = TransformersLogLevel.ERROR;
    useHub(options);

    const { id, source, sha256, tokenizer, model } = await resolveAndLoad(options, modelDir, log);
    const config = model.config as unknown as {
      id2label: Record<string, string>;
      max_position_embeddings?: number;
      problem_type?: string;
    };
    const labels = Object.keys(config.id2label)
      .sort((a, b) => Number(a) - Number(b))
      .map((key) => config.id2label[key]);
    const info: ModelInfo = {
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
    const runtime = new ModelRuntime(info, tokenizer, model);
    // Warm-up: the first run allocates ONNX Runtime's buffers; pay for it before taking traffic.
    await runtime.classify(['warm up the model']);
    await runtime.calibrate();
    info.loadTimeMs = Math.round(performance.now() - started);
    return runtime;
  }

  private async calibrate(): Promise<void> {
    const { cls_token_id: first, sep_token_id: last } = this.tokenizer as unknown as Record<string, number>;
    const filler = this.tokenizer.convert_tokens_to_ids('the');
    for (const { texts, paddedLength } of CALIBRATION_SHAPES) {
      const length = Math.min(paddedLength, this.info.maxSequenceLength);
      const sequence = new Int32Array(length).fill(filler);
      sequence[0] = first ?? filler;
      sequence[length - 1] = last ?? filler;
      const started = performance.now();
      await this.classifySequences(Array.from({ length: texts }, () => sequence));
      this.calibration.push({ texts, paddedLength: length, seconds: (performance.now() - started) / 1000 });
    }
  }

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

async function resolveAndLoad(options: ModelRuntimeOptions, modelDir: string, log: RuntimeLog) {
  const { modelId, modelDtype, allowRemoteModels, modelFallback, baselinePreset } = options;
  const onnxFile = onnxPath(modelDir, modelId, modelDtype);
  if (hasLocalModel(modelDir, modelId, modelDtype)) {
    // Checked before ONNX Runtime opens the file.
    const sha256 = await verifiedSha256(onnxFile, options, log);
    return { id: modelId, source: 'local' as const, sha256, ...(await loadFiles(options, modelId, false)) };
  }
  const requestedBaseline = BASELINE_VARIANTS.find(({ preset, head }) => baselineModelId(preset, head) === modelId);
  if (requestedBaseline) {
    const files = await loadBaseline(options, modelDir, requestedBaseline, log);
    return { id: modelId, source: 'baseline' as const, sha256: await verifiedSha256(onnxFile, options, log), ...files };
  }
  let downloadError: string | undefined;
  if (allowRemoteModels) {
    const { hubEndpoint, modelRevision } = options;
    const where = { model: modelId, revision: modelRevision, endpoint: hubEndpoint, dtype: modelDtype };
    let files: Awaited<ReturnType<typeof loadFiles>> | undefined;
    try {
      log('info', { msg: 'downloading model from the Hugging Face hub', ...where });
      files = await loadFiles(options, modelId, true);
    } catch (error) {
      downloadError = downloadFailure(error, modelId, options);
      log('warn', { msg: 'model download failed', ...where, status: refusedStatus(error), error: downloadError });
    }
    if (files) {
      // transformers.js downloads and opens the file in one call, so it is checked once downloaded,
      // before any text reaches it; a file that fails is deleted, so no later start serves it.
      try {
        return { id: modelId, source: 'hub' as const, sha256: await verifiedSha256(onnxFile, options, log), ...files };
      } catch (error) {
        await files.model.dispose();
        await rm(onnxFile, { force: true });
        throw error;
      }
    }
  }
  const where = modelFolder(modelDir, modelId);
  if (modelFallback === 'baseline') {
    const id = baselineModelId(baselinePreset);
    log('warn', {
      msg:
        `model ${modelId} is not available: serving the constructed lexicon baseline ${id} instead. ` +
        `Its predictions come from the AFINN lexicon, not from DistilBERT. Put the model under ${where} ` +
        'or let it download from a reachable Hugging Face hub (ALLOW_REMOTE_MODELS=true) to serve the real one.',
    });
    const files = await loadBaseline(options, modelDir, { preset: baselinePreset }, log);
    // MODEL_SHA256 is the digest of MODEL_ID's file, not the stand-in's.
    return { id, source: 'baseline' as const, sha256: await sha256File(onnxPath(modelDir, id, modelDtype)), ...files };
  }
  throw new Error(
    `Model ${modelId} (${modelDtype}) not found under ${where}` +
      (allowRemoteModels ? ` and the hub download failed: ${downloadError}` : ' and ALLOW_REMOTE_MODELS=false') +
      `. Put config.json, tokenizer.json, tokenizer_config.json and ${onnxFileName(modelDtype)} there` +
      ' (the Dockerfile bakes them in), or set ALLOW_REMOTE_MODELS=true, or MODEL_FALLBACK=baseline for a lexicon stand-in.',
  );
}

function onnxPath(modelDir: string, id: string, dtype: Settings['modelDtype']): string {
  return resolve(modelFolder(modelDir, id), onnxFileName(dtype));
}

/** The file's SHA-256; with MODEL_SHA256 set, a different one refuses the model, whatever the fallback. */
async function verifiedSha256(file: string, options: ModelRuntimeOptions, log: RuntimeLog): Promise<string> {
  const actual = await sha256File(file);
  const expected = options.modelSha256;
  if (expected !== undefined && actual !== expected) {
    log('error', {
      msg: 'model file checksum mismatch: refusing to serve',
      model: options.modelId,
      file,
      expectedSha256: expected,
      actualSha256: actual,
    });
    throw new ChecksumMismatchError(file, expected, actual);
  }
  return actual;
}

async function loadBaseline(
  options: ModelRuntimeOptions,
  modelDir: string,
  { preset, head = 'sentiment' }: { preset: Settings['baselinePreset']; head?: BaselineHead },
  log: RuntimeLog,
) {
  const id = baselineModelId(preset, head);
  if (!hasLocalModel(modelDir, id, options.modelDtype)) {
    log('info', { msg: 'generating the baseline model', model: id });
    await writeBaselineModel({ preset, head, modelsDir: modelDir });
  }
  return loadFiles(options, id, false);
}

async function loadFiles(options: ModelRuntimeOptions, id: string, remote: boolean) {
  transformersEnv.allowRemoteModels = remote;
  const common = { dtype: options.modelDtype, local_files_only: !remote };
  // The model first: its config.json is required, so a refused or missing download fails on it with
  // the hub's status, where the tokenizer would take an absent tokenizer_config.json for an empty one.
  const model = await AutoModelForSequenceClassification.from_pretrained(id, {
    ...common,
    session_options: { intraOpNumThreads: options.threads, interOpNumThreads: 1 },
  });
  const tokenizer = await AutoTokenizer.from_pretrained(id, common);
  return { tokenizer, model };
}
