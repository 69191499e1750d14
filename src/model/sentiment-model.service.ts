import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Worker } from 'node:worker_threads';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { UnavailableError } from '../common/unavailable-error.js';
import { usableCpuCount } from './cpu-budget.js';
import type { Prediction } from './label-scores.js';
import type { ModelInfo, TimedCall } from './model-runtime.js';
import type {
  FromTokenizer,
  ModelWorkerData,
  ToMain,
  ToTokenizer,
  ToWorker,
  TokenizerWorkerData,
} from './model-worker-protocol.js';
import { packSequences, unpackSequences } from './token-sequences.js';
import { START_MODEL_WORKER, type StartModelWorker } from './model-workers.js';
import { WorkerCalls } from './worker-calls.js';

export type { ModelInfo, ModelSource, TimedCall } from './model-runtime.js';
export type ModelState = 'loading' | 'ready' | 'failed';
/** Called after each model call with how many texts it carried, how long it took and whether it failed. */
export type ModelCallListener = (batchSize: number, seconds: number, failed: boolean) => void;

/** Seconds a client should wait before retrying while the model loads. */
const LOADING_RETRY_AFTER_SECONDS = 5;
/** Longest wait at shutdown for model calls still running before the worker is terminated anyway. */
const SHUTDOWN_CALLS_WAIT_MS = 10_000;

/**
 * The DistilBERT sentiment model as the rest of the app sees it: loads once in the background
 * (on a worker thread, see ModelRuntime), reports its state, tokenizes texts (on a second worker,
 * so token counts never wait for a running model call) and classifies batches of token sequences.
 */
@Injectable()
export class SentimentModel implements OnApplicationShutdown {
  private readonly logger = new Logger(SentimentModel.name);
  private loading?: Promise<void>;
  private worker?: Worker;
  private tokenizer?: Worker;
  private loaded?: ModelInfo;
  private failure?: Error;
  private readonly calls = new WorkerCalls();
  private readonly tokenizations = new WorkerCalls();
  private stopping = false;
  /** Whether a model was ever ready: from then on a lost worker is restarted, not a load failure. */
  private everReady = false;
  /** Worker restarts since the last model call that succeeded. */
  private restartsInARow = 0;
  private restartCount = 0;
  private gaveUp = false;
  private readonly callListeners: ModelCallListener[] = [];
  private readonly readyListeners: ((calibration: TimedCall[]) => void)[] = [];

  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(START_MODEL_WORKER) private readonly startWorker: StartModelWorker,
  ) {}

  get state(): ModelState {
    if (this.loaded) return 'ready';
    return this.failure ? 'failed' : 'loading';
  }

  get ready(): boolean {
    return this.loaded !== undefined;
  }

  /**
   * True once the model worker was lost and MODEL_MAX_RESTARTS restarts in a row did not bring it
   * back: the process cannot recover by itself, so liveness fails and the orchestrator replaces it.
   */
  get beyondRepair(): boolean {
    return this.gaveUp;
  }

  /** Model worker restarts since the process started (crashed, wedged or failed to reload). */
  get restarts(): number {
    return this.restartCount;
  }

  /** Why loading failed, with what to do about it; undefined unless `state` is 'failed'. */
  get failureReason(): string | undefined {
    return this.failure?.message;
  }

  get info(): ModelInfo | undefined {
    return this.loaded;
  }

  /** The loaded model's info; while it is not loaded, the 503 every caller should answer. */
  requireInfo(): ModelInfo {
    if (this.loaded) return this.loaded;
    throw new UnavailableError(
      this.failure ? 'The model could not be loaded; see the service log.' : 'The model is still loading.',
      LOADING_RETRY_AFTER_SECONDS,
      'model-not-ready',
    );
  }

  /** Starts loading once; later calls return the same promise. Never rejects: see `state`. */
  load(): Promise<void> {
    this.loading ??= this.startModelWorker();
    return this.loading;
  }

  /** Tokenizes and classifies in one model call (tests and tools; the service goes through the scheduler). */
  async classify(texts: readonly string[]): Promise<Prediction[]> {
    return this.classifySequences(await this.tokenize(texts));
  }

  /** Token ids of each text, special tokens included, truncated to the model's maximum length. */
  async tokenize(texts: readonly string[]): Promise<Int32Array[]> {
    this.requireInfo();
    if (texts.length === 0) return [];
    const packed = await this.tokenizations.call<{ ids: Int32Array; lengths: Int32Array }>(
      this.tokenizer!,
      (id): ToTokenizer => ({ type: 'tokenize', id, texts: [...texts] }),
    );
    return unpackSequences(packed);
  }

  /**
   * One model call on token sequences from `tokenize`: one prediction per sequence, in order. A
   * call not answered within `timeoutMs` means a wedged worker: the watchdog fails its calls and
   * restarts it.
   */
  async classifySequences(sequences: readonly Int32Array[], timeoutMs?: number): Promise<Prediction[]> {
    this.requireInfo();
    if (this.stopping) throw new UnavailableError('The service is shutting down.', 1, 'model-not-ready');
    if (sequences.length === 0) return [];
    const started = performance.now();
    const { ids, lengths } = packSequences(sequences);
    let failed = true;
    const worker = this.worker!;
    const watchdog =
      timeoutMs === undefined ? undefined : setTimeout(() => this.onCallOverdue(worker, timeoutMs), timeoutMs);
    return this.calls
      .call<Prediction[]>(worker, (id): ToWorker => ({ type: 'classify', id, ids, lengths }), [
        ids.buffer as ArrayBuffer,
        lengths.buffer as ArrayBuffer,
      ])
      .then((predictions) => {
        failed = false;
        this.restartsInARow = 0;
        return predictions;
      })
      .finally(() => {
        clearTimeout(watchdog);
        const seconds = (performance.now() - started) / 1000;
        for (const listener of this.callListeners) listener(sequences.length, seconds, failed);
      });
  }

  /** Called each time a model (re)loads, with the calls it timed at load (to calibrate cost estimates). */
  onReady(listener: (calibration: TimedCall[]) => void): void {
    this.readyListeners.push(listener);
  }

  /** Observes every model call (not the warm-up), e.g. for metrics. */
  onModelCall(listener: ModelCallListener): void {
    this.callListeners.push(listener);
  }

  /**
   * Terminating the worker during an ONNX Runtime run aborts the whole process (an uncaught native
   * Napi::Error), so calls still running finish first: after the HTTP server has closed, some can
   * remain for clients that hung up. No new call starts.
   */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.calls.idle(SHUTDOWN_CALLS_WAIT_MS);
    await Promise.all([this.worker?.terminate(), this.tokenizer?.terminate()]);
  }

  private startModelWorker(): Promise<void> {
    const options: ModelWorkerData = {
      modelId: this.settings.modelId,
      modelDir: this.settings.modelDir,
      modelDtype: this.settings.modelDtype,
      allowRemoteModels: this.settings.allowRemoteModels,
      modelFallback: this.settings.modelFallback,
      baselinePreset: this.settings.baselinePreset,
      threads: this.settings.onnxThreads || usableCpuCount(),
    };
    const worker = this.startWorker('model-worker', options);
    // The worker must never keep the process alive on its own; shutdown terminates it.
    worker.unref();
    this.worker = worker;
    return new Promise<void>((settled) => {
      worker.on('message', (message: ToMain) => this.onMessage(message, settled));
      worker.on('error', (error: Error) => this.onWorkerGone(worker, error, settled));
      worker.on('exit', (code) =>
        this.onWorkerGone(worker, new Error(`model worker exited with code ${code}`), settled),
      );
    });
  }

  private onMessage(message: ToMain, settled: () => void): void {
    switch (message.type) {
      case 'log':
        if (message.level === 'warn') this.logger.warn(message.fields);
        else this.logger.log(message.fields);
        return;
      case 'ready':
        void this.startTokenizer(message.info).then(
          () => {
            this.loaded = message.info;
            this.failure = undefined;
            this.everReady = true;
            for (const listener of this.readyListeners) listener(message.calibration);
            this.logger.log({
              msg: 'model ready',
              model: message.info.id,
              source: message.info.source,
              dtype: message.info.dtype,
              threads: message.info.threads,
              loadTimeMs: message.info.loadTimeMs,
            });
            settled();
          },
          (error: Error) => this.onWorkerGone(this.worker!, error, settled),
        );
        return;
      case 'failed':
        // A worker that could not load has nothing left to do; the failure stays visible in `state`.
        this.logger.error({ msg: 'model failed to load', error: message.message });
        if (this.everReady && this.worker) {
          const failed = this.worker;
          this.onWorkerGone(failed, new Error(message.message), settled);
          void failed.terminate();
          return;
        }
        void this.worker?.terminate();
        this.worker = undefined;
        this.failure = new Error(message.message);
        settled();
        return;
      case 'result':
        this.calls.resolve(message.id, message.predictions);
        return;
      case 'error':
        this.calls.reject(message.id, new Error(message.message));
        return;
    }
  }

  /** Starts the tokenizer worker on the files the model worker resolved; resolves once it is ready. */
  private startTokenizer(info: ModelInfo): Promise<void> {
    void this.tokenizer?.terminate();
    const data: TokenizerWorkerData = { modelDir: this.settings.modelDir, modelId: info.id };
    const tokenizer = this.startWorker('tokenizer-worker', data);
    tokenizer.unref();
    this.tokenizer = tokenizer;
    return new Promise<void>((ready, failed) => {
      tokenizer.on('message', (message: FromTokenizer) => {
        if (message.type === 'ready') ready();
        else if (message.type === 'failed') failed(new Error(`tokenizer failed to load: ${message.message}`));
        else if (message.type === 'tokens') this.tokenizations.resolve(message.id, message);
        else this.tokenizations.reject(message.id, new Error(message.message));
      });
      // A tokenizer that dies takes its pending calls with it and is started again.
      tokenizer.on('exit', (code) => {
        if (this.tokenizer !== tokenizer || this.stopping) return;
        const error = new Error(`tokenizer worker exited with code ${code}`);
        this.tokenizations.failAll(error);
        failed(error);
        this.logger.error({ msg: 'tokenizer worker stopped', error: error.message });
        void this.startTokenizer(info).catch(() => undefined);
      });
    });
  }

  /** A call past its deadline: the worker is wedged (or as good as); replace it like a crashed one. */
  private onCallOverdue(worker: Worker, timeoutMs: number): void {
    if (this.worker !== worker || this.stopping) return;
    this.onWorkerGone(worker, new Error(`a model call took longer than ${timeoutMs} ms`), () => undefined);
    void worker.terminate();
  }

  /**
   * A crashed, wedged or failed-to-reload worker fails its pending calls and is replaced after a
   * growing delay (MODEL_RESTART_BACKOFF_MS, doubling), so one bad run does not end the pod; after
   * MODEL_MAX_RESTARTS in a row without a successful call the model is beyond repair (liveness fails).
   */
  private onWorkerGone(worker: Worker, error: Error, settled: () => void): void {
    if (this.worker !== worker || this.stopping) return;
    this.worker = undefined;
    this.loaded = undefined;
    this.calls.failAll(error);
    this.logger.error({ msg: 'model worker stopped', error: error.message });
    if (!this.everReady) {
      this.failure = error;
      settled();
      return;
    }
    const { modelMaxRestarts, modelRestartBackoffMs } = this.settings;
    if (this.restartsInARow >= modelMaxRestarts) {
      this.failure = error;
      this.gaveUp = true;
      this.logger.error({ msg: 'model worker beyond repair: liveness now fails', restarts: this.restartsInARow });
      settled();
      return;
    }
    const delayMs = modelRestartBackoffMs * 2 ** this.restartsInARow;
    this.restartsInARow++;
    this.restartCount++;
    this.logger.warn({ msg: 'restarting the model worker', attempt: this.restartsInARow, delayMs });
    this.loading = new Promise<void>((restarted) => {
      setTimeout(() => {
        if (this.stopping) return restarted();
        void this.startModelWorker().then(restarted);
      }, delayMs).unref();
    });
    void this.loading.then(settled);
  }
}
