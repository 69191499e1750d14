import { Inject, Injectable } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { tenantOf } from '../auth/tenant.js';
import { TooManyTokensError } from '../common/too-many-tokens-error.js';
import { PredictionCache, type CacheStatus, type TextSource } from '../cache/prediction-cache.js';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import type { ProblemError, ProblemFieldError } from '../http/problem.js';
import { InferenceService } from '../inference/inference.service.js';
import { scorePrediction, type ModelOutput, type Prediction } from '../model/label-scores.js';
import { SentimentModel, type ModelInfo } from '../model/sentiment-model.service.js';
import type { ModelInfoDto } from './dto/model-info.dto.js';
import type { PredictRequestDto } from './dto/predict-request.dto.js';
import type { PredictDetailDto } from './dto/predict-response.dto.js';
import { invalidPredictRequest } from './predict-request.pipe.js';

/** What the predict route answers, and how the cache served it. */
export interface PredictOutcome {
  model: string;
  predictions: Prediction[];
  details?: PredictDetailDto[];
  cacheStatus: CacheStatus;
}

/** Who is asking, for fairness and isolation, and whether they are still there. */
export interface PredictContext {
  /** The caller's API key, already checked at the edge; undefined without one. */
  apiKey?: string;
  /**
   * A signal aborted when the client hangs up; asked for only when texts go to the model, so a
   * request answered from the cache costs no AbortController (a few % of the hit path's CPU).
   */
  clientGone?: () => AbortSignal;
}

/** Whose job a chunk belongs to, as stored with the job (never the API key itself). */
export interface BulkOwner {
  /** The cache scope of the key (`tenantOf`); undefined when entries are shared. */
  cacheTenant?: string;
  /** The key's fairness flow. */
  flow?: string;
}

export interface BulkOutcome {
  predictions: Prediction[];
  /** Distinct texts answered from the cache. */
  cacheHits: number;
}

@Injectable()
export class SentimentService {
  constructor(
    private readonly model: SentimentModel,
    private readonly inference: InferenceService,
    private readonly cache: PredictionCache,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  /**
   * Cached texts are answered from the cache; the rest go through the scheduler to the model. The
   * cache and the model deal in logits; the request's options turn them into its answer.
   */
  async predict(request: PredictRequestDto, context: PredictContext = {}): Promise<PredictOutcome> {
    const info = this.model.requireInfo();
    const topK = request.top_k ?? info.labels.length;
    if (topK > info.labels.length) {
      throw invalidPredictRequest([
        { path: 'top_k', message: `must be at most ${info.labels.length}, the model's label count` },
      ]);
    }
    const truncation = request.truncation_direction ?? 'right';
    // Cache entries and coalesced texts are per tenant unless CACHE_SCOPE=shared; model time is
    // shared fairly between API keys whatever the cache scope (between requests without keys).
    const tenant = tenantOf(context.apiKey, this.settings);
    const texts = request.text;
    const { outputs, sources, status } = await this.cache.predict(
      texts,
      info,
      (misses) => {
        // Only texts going to the model need a flow; under the default scope it is the tenant.
        const flow =
          this.settings.cacheScope === 'tenant'
            ? tenant
            : tenantOf(context.apiKey, { ...this.settings, cacheScope: 'tenant' });
        const options = { flow, scope: tenant, signal: context.clientGone?.(), truncation, truncate: request.truncate };
        return this.inference.classify(misses, options).catch((error: unknown) => {
          if (!(error instanceof TooManyTokensError)) throw error;
          const refused = error.texts.map(({ index, tokens }) => ({ text: misses[index], tokens }));
          throw tooLong(texts, refused, error.limit);
        });
      },
      { tenant, truncation },
    );
    // On the request's own span (HTTP or Nest handler): what it asked and how the cache served it.
    const span = trace.getActiveSpan();
    if (span?.isRecording())
      span.setAttributes({ 'sentiment.request.texts': texts.length, 'sentiment.cache.status': status });
    if (request.truncate === false) {
      // Cached texts were not tokenized for this request: their stored token counts decide.
      const over = outputs.flatMap((output, i) => (output.tokens > info.maxSequenceLength ? [i] : []));
      if (over.length > 0) {
        throw tooLong(
          texts,
          over.map((i) => ({ text: texts[i], tokens: outputs[i].tokens })),
          info.maxSequenceLength,
        );
      }
    }
    const scoreFunction =
      request.function_to_apply === undefined || request.function_to_apply === 'default'
        ? info.scoreFunction
        : request.function_to_apply;
    return {
      model: info.name,
      predictions: outputs.map((output) => scorePrediction(output.logits, info.labels, scoreFunction, topK)),
      ...(request.details === true ? { details: detailsOf(outputs, sources, info) } : {}),
      cacheStatus: status,
    };
  }

  /**
   * A job chunk's texts, for whoever owns the job: the same cache entries and model as the predict
   * route (so the same answers), but at bulk priority, which only fills idle model time. Also counts
   * the distinct texts the cache answered.
   */
  async predictBulk(texts: readonly string[], owner: BulkOwner, signal?: AbortSignal): Promise<BulkOutcome> {
    const info = this.model.requireInfo();
    const { outputs, sources } = await this.cache.predict(
      texts,
      info,
      (misses) =>
        this.inference.classify(misses, { flow: owner.flow, scope: owner.cacheTenant, signal, priority: 'bulk' }),
      { tenant: owner.cacheTenant },
    );
    const cacheHits = new Set(texts.filter((_, i) => sources[i] === 'hit')).size;
    return {
      predictions: outputs.map((output) => scorePrediction(output.logits, info.labels, info.scoreFunction)),
      cacheHits,
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
      cache: { backend: this.cache.backend, ttlSeconds: this.cache.ttlSeconds },
    };
  }
}

function detailsOf(outputs: ModelOutput[], sources: TextSource[], info: ModelInfo): PredictDetailDto[] {
  return outputs.map((output, i) => ({
    tokens: output.tokens,
    truncated: output.tokens > info.maxSequenceLength,
    cache: sources[i],
  }));
}

/** The 422 for `truncate: false`, naming every position of each text too long (never the text). */
function tooLong(texts: readonly string[], refused: { text: string; tokens: number }[], limit: number): ProblemError {
  const tokensByText = new Map(refused.map(({ text, tokens }) => [text, tokens]));
  const errors: ProblemFieldError[] = texts.flatMap((text, i) => {
    const tokens = tokensByText.get(text);
    return tokens === undefined
      ? []
      : [{ path: `text[${i}]`, message: `has ${tokens} tokens, more than the model's ${limit} (truncate is false)` }];
  });
  return invalidPredictRequest(errors);
}
