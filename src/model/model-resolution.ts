import { rm } from 'node:fs/promises';
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import type { Settings } from '../config/settings.js';
import {
  BASELINE_VARIANTS,
  baselineModelId,
  writeBaselineModel,
  type BaselineHead,
} from '../baseline-model/write-baseline-model.js';
import { downloadFailure, refusedStatus } from './hub-access.js';
import {
  ChecksumMismatchError,
  hasLocalModel,
  modelFolder,
  onnxFileName,
  onnxPath,
  sha256File,
} from './model-files.js';
import { allowDownloads } from './transformers-env.js';

export type ModelSource = 'local' | 'hub' | 'baseline';

/** The settings loading a model needs, plus the thread count already decided by the caller. */
export type ModelLoadOptions = Pick<
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

/** Where a worker's log lines go: the worker cannot use Nest's logger, the service logs them for it. */
export type LoadLog = (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>) => void;

/** The model that serves: which one, where it came from, its ONNX file's digest, and both loaded. */
export interface ResolvedModel {
  id: string;
  source: ModelSource;
  sha256: string;
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
}

/**
 * Finds MODEL_ID's files and loads them: from MODEL_DIR, else generated when it names a baseline,
 * else downloaded from the hub (ALLOW_REMOTE_MODELS), else the baseline stand-in
 * (MODEL_FALLBACK=baseline); MODEL_SHA256 is checked before any text reaches the file. `modelDir`
 * is MODEL_DIR resolved, where transformers.js was pointed (transformers-env.ts).
 */
export async function resolveModel(options: ModelLoadOptions, modelDir: string, log: LoadLog): Promise<ResolvedModel> {
  const { modelId, modelDtype, allowRemoteModels, modelFallback, baselinePreset } = options;
  const onnxFile = onnxPath(modelDir, modelId, modelDtype);
  if (hasLocalModel(modelDir, modelId, modelDtype)) {
    // Checked before ONNX Runtime opens the file.
    const sha256 = await verifiedSha256(onnxFile, options, log);
    return { id: modelId, source: 'local', sha256, ...(await loadFiles(options, modelId, false)) };
  }
  const requestedBaseline = BASELINE_VARIANTS.find(({ preset, head }) => baselineModelId(preset, head) === modelId);
  if (requestedBaseline) {
    const files = await loadBaseline(options, modelDir, requestedBaseline, log);
    return { id: modelId, source: 'baseline', sha256: await verifiedSha256(onnxFile, options, log), ...files };
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
        return { id: modelId, source: 'hub', sha256: await verifiedSha256(onnxFile, options, log), ...files };
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
    return { id, source: 'baseline', sha256: await sha256File(onnxPath(modelDir, id, modelDtype)), ...files };
  }
  throw new Error(
    `Model ${modelId} (${modelDtype}) not found under ${where}` +
      (allowRemoteModels ? ` and the hub download failed: ${downloadError}` : ' and ALLOW_REMOTE_MODELS=false') +
      `. Put config.json, tokenizer.json, tokenizer_config.json and ${onnxFileName(modelDtype)} there` +
      ' (the Dockerfile bakes them in), or set ALLOW_REMOTE_MODELS=true, or MODEL_FALLBACK=baseline for a lexicon stand-in.',
  );
}

/** The file's SHA-256; with MODEL_SHA256 set, a different one refuses the model, whatever the fallback. */
async function verifiedSha256(file: string, options: ModelLoadOptions, log: LoadLog): Promise<string> {
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
  options: ModelLoadOptions,
  modelDir: string,
  { preset, head = 'sentiment' }: { preset: Settings['baselinePreset']; head?: BaselineHead },
  log: LoadLog,
) {
  const id = baselineModelId(preset, head);
  if (!hasLocalModel(modelDir, id, options.modelDtype)) {
    log('info', { msg: 'generating the baseline model', model: id });
    await writeBaselineModel({ preset, head, modelsDir: modelDir });
  }
  return loadFiles(options, id, false);
}

async function loadFiles(options: ModelLoadOptions, id: string, remote: boolean) {
  allowDownloads(remote);
  const common = { dtype: options.modelDtype, local_files_only: !remote };
  // The model first: its config.json is required, so a refused or missing download fails on it with
  // the hub's status, where the tokenizer would take an absent tokenizer_config.json for an empty one.
  const model = await AutoModelForSequenceClassification.from_pretrained(id, {
    ...common,
    session_options: {
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      // ONNX Runtime's threads otherwise spin on every core after each call, while the event loop
      // and the tokenizer need one to bring the next call's texts: measured in docs/PERFORMANCE.md.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    },
  });
  const tokenizer = await AutoTokenizer.from_pretrained(id, common);
  return { tokenizer, model };
}
