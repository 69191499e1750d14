import { Inject, Injectable } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { CacheStats } from '../cache/cache-stats.js';
import { cacheStatusOf, type CacheStatus } from '../cache/prediction-cache.js';
import type { Caller } from '../common/caller.js';
import { TooManyTokensError } from '../common/too-many-tokens-error.js';
import { TooManyRequestWindowsError, TooManyWindowsError } from '../common/too-many-windows-error.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { ProblemError } from '../http/problem.js';
import type { ChunkOptions, LongTextMode } from '../inference/long-text.js';
import {
  TEXT_CLASSIFIER,
  type Classified,
  type TextClassifier,
  type TextSource,
} from '../inference/text-classifier.js';
import { scorePrediction, type ModelOutput, type Prediction } from '../model/label-scores.js';
import { SentimentModel, type ModelInfo } from '../model/sentiment-model.service.js';
import type { ModelInfoDto } from './dto/model-info.dto.js';
import type { PredictRequestDto } from './dto/predict-request.dto.js';
import type { PredictDetailDto } from './dto/predict-response.dto.js';
import { PREDICT_PROBLEM } from './predict-problems.js';
import { invalidPredictRequest } from './predict-request.pipe.js';

/** What the predict route answers, and how the cache served it. */
export interface PredictOutcome {
  model: string;
  predictions: Prediction[];
  details?: PredictDetailDto[];
  cacheStatus: CacheStatus;
}

export interface BulkOutcome {
  predictions: Prediction[];
  /** Distinct texts answered from the cache. */
  cacheHits: number;
}

/**
 * The predict route's and the job chunks' work: asks the classifier (the prediction cache in front
 * of the scheduler and the model) for the texts' logits, then turns them into the answer the
 * request's options ask for.
 */
@Injectable()
export class SentimentService {
  constructor(
    private readonly model: SentimentModel,
    @Inject(TEXT_CLASSIFIER) private readonly classifier: TextClassifier,
    private readonly cacheStats: CacheStats,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  /**
   * `clientGone` gives a signal aborted when the client hangs up; it is asked for only when texts
   * go to the model, so an answer from the cache costs no AbortController (a few % of a hit's CPU).
   */
  async predict(request: PredictRequestDto, caller: Caller, clientGone?: () => AbortSignal): Promise<PredictOutcome> {
    const info = this.model.requireInfo();
    const topK = request.top_k ?? info.labels.length;
    if (topK > info.labels.length) {
      throw invalidPredictRequest([
        { path: 'top_k', message: `must be at most ${info.labels.length}, the model's label count` },
      ]);
    }
    const chunk = request.long_text === 'chunk' ? this.chunkOptions(true) : undefined;
    const texts = request.text;
    let classified: Classified;
    try {
      classified = await this.classifier.classify(texts, caller, {
        model: info,
        truncation: request.truncation_direction ?? 'right',
        truncate: request.truncate,
        chunk,
        signal: clientGone,
      });
    } catch (error) {
      throw readLimitProblem(error);
    }
    const { outputs, sources } = classified;
    const status = cacheStatusOf(sources);
    // On the request's own span (HTTP or Nest handler): what it asked and how the cache served it.
    const span = trace.getActiveSpan();
    if (span?.isRecording())
      span.setAttributes({ 'sentiment.request.texts': texts.length, 'sentiment.cache.status': status });
    const scoreFunction =
      request.function_to_apply === undefined || request.function_to_apply === 'default'
        ? info.scoreFunction
        : request.function_to_apply;
    return {
      model: info.name,
      predictions: outputs.map((output) => scorePrediction(output.logits, info.labels, scoreFunction, topK)),
      ...(request.details === true ? { details: detailsOf(outputs, sources, info, chunk !== undefined) } : {}),
      cacheStatus: status,
    };
  }

  /**
   * A job chunk's texts, for the caller who owns the job: the same cache entries and model as the
   * predict route (so the same answers), but at bulk priority, which only fills idle model time.
   * Also counts the distinct texts the cache answered. A text past the window limits throws
   * TooManyWindowsError naming its position among `texts`.
   */
  async predictBulk(
    texts: readonly string[],
    caller: Caller,
    longText: LongTextMode = 'truncate',
    signal?: AbortSignal,
  ): Promise<BulkOutcome> {
    const info = this.model.requireInfo();
    const chunk = longText === 'chunk' ? this.chunkOptions(false) : undefined;
    const { outputs, sources } = await this.classifier.classify(texts, caller, {
      model: info,
      chunk,
      priority: 'bulk',
      signal: () => signal,
    });
    const cacheHits = new Set(texts.filter((_, i) => sources[i] === 'hit')).size;
    return {
      predictions: outputs.map((output) => scorePrediction(output.logits, info.labels, info.scoreFunction)),
      cacheHits,
    };
  }

  /**
   * `long_text: "chunk"` as the settings have it; a request's windows are limited together, a job
   * chunk's are not (bulk work is never refused for its cost, and a chunk is JOB_CHUNK_TEXTS texts).
   */
  private chunkOptions(request: boolean): ChunkOptions {
    const { longTextStridePercent, longTextMaxWindows, longTextMaxWindowsPerRequest } = this.settings;
    return {
      stridePercent: longTextStridePercent,
      maxWindowsPerText: longTextMaxWindows,
      ...(request ? { maxWindowsPerRequest: longTextMaxWindowsPerRequest } : {}),
    };
  }

  modelInfo(): ModelInfoDto {
    const info = this.model.requireInfo();
    const { maxBatchSize, maxTextChars } = this.settings;
    return {
      id: info.id,
      name: info.name,
      source: info.source,
      fingerprint: info.fingerprint,
      labels: info.labels,
      ...(info.problemType === undefined ? {} : { problemType: info.problemType }),
      scoreFunction: info.scoreFunction,
      dtype: info.dtype,
      maxSequenceLength: info.maxSequenceLength,
      maxBatchSize,
      maxTextChars,
      backend: info.backend,
      threads: info.threads,
      loadTimeMs: info.loadTimeMs,
      cache: { backend: this.cacheStats.backend, ttlSeconds: this.settings.cacheTtlSeconds },
    };
  }
}

function detailsOf(
  outputs: ModelOutput[],
  sources: TextSource[],
  info: ModelInfo,
  chunked: boolean,
): PredictDetailDto[] {
  return outputs.map((output, i) => ({
    tokens: output.tokens,
    truncated: !chunked && output.tokens > info.maxSequenceLength,
    cache: sources[i],
    ...(chunked ? { windows: output.windows } : {}),
  }));
}

/**
 * The problem for texts past the request's limits, positions as in the request (never a text):
 * 422 naming every text too long with `truncate: false` or needing too many windows with
 * `long_text: "chunk"`; 413 when the texts together need too many windows. Other errors pass.
 */
function readLimitProblem(error: unknown): unknown {
  if (error instanceof TooManyTokensError) {
    return invalidPredictRequest(
      error.texts.map(({ index, tokens }) => ({
        path: `text[${index}]`,
        message: `has ${tokens} tokens, more than the model's ${error.limit} (truncate is false)`,
      })),
    );
  }
  if (error instanceof TooManyWindowsError) {
    return invalidPredictRequest(
      error.texts.map(({ index, windows }) => ({
        path: `text[${index}]`,
        message: `needs ${windows} windows with long_text "chunk", more than LONG_TEXT_MAX_WINDOWS (${error.limit})`,
      })),
    );
  }
  if (error instanceof TooManyRequestWindowsError) {
    return new ProblemError(
      PREDICT_PROBLEM.tooManyWindows,
      `The texts need ${error.windows} windows with long_text "chunk", more than ` +
        `LONG_TEXT_MAX_WINDOWS_PER_REQUEST (${error.limit}); send them in smaller requests.`,
    );
  }
  return error;
}
