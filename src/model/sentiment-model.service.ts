import { Inject, Injectable, Logger } from '@nestjs/common';
import { resolve } from 'node:path';
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  env as transformersEnv,
  LogLevel as TransformersLogLevel,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type Tensor,
} from '@huggingface/transformers';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { UnavailableError } from '../common/unavailable-error.js';
import { usableCpuCount } from './cpu-budget.js';
import { softmaxPrediction, type Prediction } from './label-scores.js';
import { fingerprintFile, hasLocalModel, modelFolder, onnxFileName } from './model-files.js';
import { baselineModelId, writeBaselineModel } from './baseline/write-baseline-model.js';

export type ModelState = 'loading' | 'ready' | 'failed';
export type ModelSource = 'local' | 'hub' | 'baseline';

export interface ModelInfo {
  /** Full id, e.g. `Xenova/distilbert-base-uncased-finetuned-sst-2-english`. */
  id: string;
  /** The id's last segment, as the FastAPI original reported it in `model`. */
  name: string;
  source: ModelSource;
  fingerprint: string;
  labels: string[];
  dtype: Settings['modelDtype'];
  maxSequenceLength: number;
  backend: 'onnxruntime-node';
  threads: number;
  loadTimeMs: number;
}

interface LoadedModel {
  info: ModelInfo;
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
}

/** Seconds a client should wait before retrying while the model loads. */
const LOADING_RETRY_AFTER_SECONDS = 5;

/**
 * The DistilBERT sentiment model: resolves its files, loads them once, warms up, and
 * classifies batches of texts. Loading runs in the background so the HTTP server (and its
 * probes) answer while it happens.
 */
@Injectable()
export class SentimentModel {
  private readonly logger = new Logger(SentimentModel.name);
  private loading?: Promise<void>;
  private loaded?: LoadedModel;
  private failure?: Error;

  constructor(@Inject(SETTINGS) private readonly settings: Settings) {}

  get state(): ModelState {
    if (this.loaded) return 'ready';
    return this.failure ? 'failed' : 'loading';
  }

  /** Why loading failed, with what to do about it; undefined unless `state` is 'failed'. */
  get failureReason(): string | undefined {
    return this.failure?.message;
  }

  get ready(): boolean {
    return this.loaded !== undefined;
  }

  get info(): ModelInfo | undefined {
    return this.loaded?.info;
  }

  /** The loaded model's info; while it is not loaded, the 503 every caller should answer. */
  requireInfo(): ModelInfo {
    return this.requireLoaded().info;
  }

  /** The id the service is configured for (known before loading finishes). */
  get configuredId(): string {
    return this.loaded?.info.id ?? this.settings.modelId;
  }

  /** Starts loading once; later calls return the same promise. Never rejects: see `state`. */
  load(): Promise<void> {
    this.loading ??= this.loadOnce().catch((error: Error) => {
      this.failure = error;
      this.logger.error({ msg: 'model failed to load', error: error.message });
    });
    return this.loading;
  }

  async classify(texts: readonly string[]): Promise<Prediction[]> {
    return this.infer(this.requireLoaded(), texts);
  }

  private requireLoaded(): LoadedModel {
    if (this.loaded) return this.loaded;
    throw new UnavailableError(
      this.failure ? 'The model could not be loaded; see the service log.' : 'The model is still loading.',
      LOADING_RETRY_AFTER_SECONDS,
      'model-not-ready',
    );
  }

  private async infer(loaded: LoadedModel, texts: readonly string[]): Promise<Prediction[]> {
    if (texts.length === 0) return [];
    const inputs = loaded.tokenizer([...texts], { padding: true, truncation: true });
    const { logits } = (await loaded.model(inputs)) as { logits: Tensor };
    const labels = loaded.info.labels;
    const data = logits.data as Float32Array;
    return texts.map((_, row) =>
      softmaxPrediction(data.subarray(row * labels.length, (row + 1) * labels.length), labels),
    );
  }

  private async loadOnce(): Promise<void> {
    const started = performance.now();
    const modelDir = resolve(this.settings.modelDir);
    // Downloads land where local files are looked up, so a model fetched once is local next time.
    transformersEnv.localModelPath = modelDir;
    transformersEnv.cacheDir = modelDir;
    transformersEnv.allowLocalModels = true;
    transformersEnv.logLevel = TransformersLogLevel.ERROR;

    const { id, source, tokenizer, model } = await this.resolveAndLoad(modelDir);
    const threads = this.threads();
    const config = model.config as unknown as { id2label: Record<string, string>; max_position_embeddings?: number };
    const labels = Object.keys(config.id2label)
      .sort((a, b) => Number(a) - Number(b))
      .map((key) => config.id2label[key]);
    const fingerprint = await fingerprintFile(
      resolve(modelFolder(modelDir, id), onnxFileName(this.settings.modelDtype)),
    );
    const maxSequenceLength = Math.min(
      Number(tokenizer.model_max_length) || Infinity,
      config.max_position_embeddings ?? Infinity,
    );
    const candidate: LoadedModel = {
      tokenizer,
      model,
      info: {
        id,
        name: id.split('/').pop() ?? id,
        source,
        fingerprint,
        labels,
        dtype: this.settings.modelDtype,
        maxSequenceLength,
        backend: 'onnxruntime-node',
        threads,
        loadTimeMs: 0,
      },
    };
    // Warm-up: the first run allocates ONNX Runtime's buffers; pay for it before taking traffic.
    await this.infer(candidate, ['warm up the model']);
    candidate.info.loadTimeMs = Math.round(performance.now() - started);
    this.loaded = candidate;
    this.logger.log({
      msg: 'model ready',
      model: id,
      source,
      dtype: this.settings.modelDtype,
      threads,
      loadTimeMs: candidate.info.loadTimeMs,
    });
  }

  private async resolveAndLoad(modelDir: string) {
    const { modelId, modelDtype, allowRemoteModels, modelFallback, baselinePreset } = this.settings;
    if (hasLocalModel(modelDir, modelId, modelDtype)) {
      return { id: modelId, source: 'local' as const, ...(await this.loadFiles(modelId, false)) };
    }
    if (modelId === baselineModelId('tiny') || modelId === baselineModelId('base')) {
      return {
        id: modelId,
        source: 'baseline' as const,
        ...(await this.loadBaseline(modelDir, modelId === baselineModelId('tiny') ? 'tiny' : 'base')),
      };
    }
    if (allowRemoteModels) {
      try {
        this.logger.log({ msg: 'downloading model from the Hugging Face hub', model: modelId, dtype: modelDtype });
        return { id: modelId, source: 'hub' as const, ...(await this.loadFiles(modelId, true)) };
      } catch (error) {
        this.logger.warn({ msg: 'model download failed', model: modelId, error: (error as Error).message });
      }
    }
    const where = modelFolder(modelDir, modelId);
    if (modelFallback === 'baseline') {
      const id = baselineModelId(baselinePreset);
      this.logger.warn({
        msg:
          `model ${modelId} is not available: serving the constructed lexicon baseline ${id} instead. ` +
          `Its predictions come from the AFINN lexicon, not from DistilBERT. Put the model under ${where} ` +
          'or allow the hub download (ALLOW_REMOTE_MODELS=true) to serve the real one.',
      });
      return { id, source: 'baseline' as const, ...(await this.loadBaseline(modelDir, baselinePreset)) };
    }
    throw new Error(
      `Model ${modelId} (${modelDtype}) not found under ${where}` +
        (allowRemoteModels ? ' and the hub download failed' : ' and ALLOW_REMOTE_MODELS=false') +
        `. Put config.json, tokenizer.json, tokenizer_config.json and ${onnxFileName(modelDtype)} there` +
        ' (the Dockerfile bakes them in), or set ALLOW_REMOTE_MODELS=true, or MODEL_FALLBACK=baseline for a lexicon stand-in.',
    );
  }

  private async loadBaseline(modelDir: string, preset: Settings['baselinePreset']) {
    const id = baselineModelId(preset);
    if (!hasLocalModel(modelDir, id, this.settings.modelDtype)) {
      this.logger.log({ msg: 'generating the baseline model', model: id });
      await writeBaselineModel({ preset, modelsDir: modelDir });
    }
    return this.loadFiles(id, false);
  }

  private async loadFiles(id: string, remote: boolean) {
    transformersEnv.allowRemoteModels = remote;
    const options = { dtype: this.settings.modelDtype, local_files_only: !remote };
    const tokenizer = await AutoTokenizer.from_pretrained(id, options);
    const model = await AutoModelForSequenceClassification.from_pretrained(id, {
      ...options,
      session_options: { intraOpNumThreads: this.threads(), interOpNumThreads: 1 },
    });
    return { tokenizer, model };
  }

  private threads(): number {
    return this.settings.onnxThreads || usableCpuCount();
  }
}
