import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Worker } from 'node:worker_threads';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { RETRY_AT_ONCE_SECONDS, UnavailableError } from '../common/unavailable-error.js';
import { usableCpuCount } from './cpu-budget.js';
import type { TimedCall } from './calibration.js';
import type { ModelInfo } from './model-session.js';
import type {
  FromTokenizer,
  ModelWorkerData,
  ToMain,
  ToTokenizer,
  ToWorker,
  TokenizerWorkerData,
} from './model-worker-protocol.js';
import { START_MODEL_WORKER, type StartModelWorker } from './model-workers.js';
import {
  packSequences,
  unpackSequences,
  type Tokenized,
  type TokenizedTexts,
  type TruncationSide,
} from './token-sequences.js';
import { RestartBackoff } from './restart-backoff.js';
import { WorkerCalls } from './worker-calls.js';

/** Why the model worker (or its tokenizer worker) stopped, as far as the model's state is concerned. */
export type WorkerLoss =
  /** It never loaded a model: the load failed. */
  | 'load-failed'
  /** It had loaded one and is started again after a delay: one restart. */
  | 'restarting'
  /** MODEL_MAX_RESTARTS restarts in a row did not bring it back: no more are tried. */
  | 'beyond-repair';

/** What the worker client tells the model's state (SentimentModel) as workers come and go. */
export interface ModelWorkerEvents {
  /**
   * A model (re)loaded and its tokenizer is ready, with the calls it timed at load; or a restarted
   * tokenizer is ready again, with none.
   */
  ready(info: ModelInfo, calibration: TimedCall[]): void;
  stopped(error: Error, loss: WorkerLoss): void;
}

/**
 * Longest wait at shutdown for model calls still running before the worker is terminated anyway;
 * within the shutdown's closing allowance (src/health/graceful-shutdown.ts), which ends the process.
 */
const SHUTDOWN_CALLS_WAIT_MS = 2000;

/**
 * The model's two worker threads, ONNX session and tokenizer: starts them through the
 * START_MODEL_WORKER seam, matches their replies to calls, restarts either one when it is lost
 * (each with its own RestartBackoff), and lets running calls finish at shutdown. It holds the
 * threads only: the model's state (ready, failed, beyond repair, restarts) is SentimentModel's,
 * told through ModelWorkerEvents.
 */
@Injectable()
export class ModelWorkerClient implements OnApplicationShutdown {
  private readonly logger = new Logger(ModelWorkerClient.name);
  private events?: ModelWorkerEvents;
  private worker?: Worker;
  private tokenizer?: Worker;
  private readonly calls = new WorkerCalls();
  private readonly tokenizations = new WorkerCalls();
  private stopping = false;
  /** Whether a model was ever ready: from then on a lost worker is restarted, not a load failure. */
  private everReady = false;
  /** The model worker's restarts in a row; a successful model call ends the row. */
  private readonly modelRestarts: RestartBackoff;
  /** The tokenizer worker's restarts in a row; a successful tokenization ends the row. */
  private readonly tokenizerRestarts: RestartBackoff;

  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(START_MODEL_WORKER) private readonly startWorker: StartModelWorker,
  ) {
    const { modelRestartBackoffMs, modelMaxRestarts } = settings;
    this.modelRestarts = new RestartBackoff(modelRestartBackoffMs, modelMaxRestarts);
    this.tokenizerRestarts = new RestartBackoff(modelRestartBackoffMs, modelMaxRestarts);
  }

  /** Starts the model worker (once; SentimentModel.load calls it) and reports to `events` from then on. */
  start(events: ModelWorkerEvents): void {
    this.events = events;
    this.startModelWorker();
  }

  /**
   * Token ids of each text, cut to the model's maximum (or, with `windowStridePercent`, into
   * overlapping windows), from the tokenizer worker; only once `ready` was reported.
   */
  async tokenize(
    texts: readonly string[],
    truncation: TruncationSide,
    windowStridePercent?: number,
  ): Promise<TokenizedTexts> {
    if (texts.length === 0)
      return { sequences: [], fullLengths: [], ...(windowStridePercent === undefined ? {} : { windowCounts: [] }) };
    const tokenized = await this.tokenizations.call<Tokenized & { windowCounts?: Int32Array }>(
      this.tokenizer!,
      (id): ToTokenizer => ({ type: 'tokenize', id, texts: [...texts], truncation, windowStridePercent }),
    );
    return {
      sequences: unpackSequences(tokenized),
      fullLengths: Array.from(tokenized.fullLengths),
      ...(tokenized.windowCounts ? { windowCounts: Array.from(tokenized.windowCounts) } : {}),
    };
  }

  /**
   * One model call; only once `ready` was reported. A call not answered within `timeoutMs` means a
   * wedged worker: the watchdog fails its calls and restarts it.
   */
  async classify(sequences: readonly Int32Array[], timeoutMs?: number): Promise<number[][]> {
    if (this.stopping) {
      throw new UnavailableError('The service is shutting down.', RETRY_AT_ONCE_SECONDS, 'model-not-ready');
    }
    const { ids, lengths } = packSequences(sequences);
    const worker = this.worker!;
    const watchdog =
      timeoutMs === undefined ? undefined : setTimeout(() => this.onCallOverdue(worker, timeoutMs), timeoutMs);
    try {
      const logits = await this.calls.call<Float32Array>(
        worker,
        (id): ToWorker => ({ type: 'classify', id, ids, lengths }),
        [ids.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer],
      );
      this.modelRestarts.succeeded();
      const width = logits.length / sequences.length;
      return sequences.map((_, row) => Array.from(logits.subarray(row * width, (row + 1) * width)));
    } finally {
      clearTimeout(watchdog);
    }
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

  private startModelWorker(): void {
    const options: ModelWorkerData = {
      modelId: this.settings.modelId,
      modelDir: this.settings.modelDir,
      modelDtype: this.settings.modelDtype,
      allowRemoteModels: this.settings.allowRemoteModels,
      hubEndpoint: this.settings.hubEndpoint,
      hubToken: this.settings.hubToken,
      modelRevision: this.settings.modelRevision,
      modelSha256: this.settings.modelSha256,
      modelFallback: this.settings.modelFallback,
      baselinePreset: this.settings.baselinePreset,
      threads: this.settings.onnxThreads || usableCpuCount(),
    };
    const worker = this.startWorker('model-worker', options);
    // The worker must never keep the process alive on its own; shutdown terminates it.
    worker.unref();
    this.worker = worker;
    worker.on('message', (message: ToMain) => this.onMessage(worker, message));
    worker.on('error', (error: Error) => this.onWorkerGone(worker, error));
    worker.on('exit', (code) => this.onWorkerGone(worker, new Error(`model worker exited with code ${code}`)));
  }

  private onMessage(worker: Worker, message: ToMain): void {
    switch (message.type) {
      case 'log':
        if (message.level === 'error') this.logger.error(message.fields);
        else if (message.level === 'warn') this.logger.warn(message.fields);
        else this.logger.log(message.fields);
        return;
      case 'ready':
        this.startTokenizer(worker, message.info).then(
          () => {
            if (this.worker !== worker) return;
            this.everReady = true;
            this.events!.ready(message.info, message.calibration);
          },
          (error: Error) => this.onWorkerGone(worker, error),
        );
        return;
      case 'failed':
        // A worker that could not load has nothing left to do.
        this.logger.error({ msg: 'model failed to load', error: message.message });
        this.onWorkerGone(worker, new Error(message.message));
        return;
      case 'result':
        this.calls.resolve(message.id, message.logits);
        return;
      case 'error':
        this.calls.reject(message.id, new Error(message.message));
        return;
    }
  }

  /**
   * Starts the tokenizer worker on the files `worker` resolved; resolves once it is ready. One that
   * stops before it is ready fails the promise; one that stops later is restarted on its own.
   */
  private startTokenizer(worker: Worker, info: ModelInfo): Promise<void> {
    void this.tokenizer?.terminate();
    const data: TokenizerWorkerData = {
      modelDir: this.settings.modelDir,
      modelId: info.id,
      maxSequenceLength: info.maxSequenceLength,
    };
    const tokenizer = this.startWorker('tokenizer-worker', data);
    tokenizer.unref();
    this.tokenizer = tokenizer;
    let loaded = false;
    return new Promise<void>((ready, failed) => {
      tokenizer.on('message', (message: FromTokenizer) => {
        if (message.type === 'ready') {
          loaded = true;
          ready();
        } else if (message.type === 'failed') failed(new Error(`tokenizer failed to load: ${message.message}`));
        else if (message.type === 'tokens') {
          this.tokenizerRestarts.succeeded();
          this.tokenizations.resolve(message.id, message);
        } else this.tokenizations.reject(message.id, new Error(message.message));
      });
      // A tokenizer that dies takes its pending calls with it.
      tokenizer.on('exit', (code) => {
        if (this.tokenizer !== tokenizer || this.stopping) return;
        this.tokenizer = undefined;
        const error = new Error(`tokenizer worker exited with code ${code}`);
        this.tokenizations.failAll(error);
        if (loaded) this.onTokenizerGone(worker, info, error);
        else failed(error);
      });
    });
  }

  /**
   * A tokenizer lost after it was ready takes the model out of service until it is back: it is
   * started again after the same backoff as the model worker (its own count), and the model is
   * ready again with it, with no calls timed (the model did not reload).
   */
  private onTokenizerGone(worker: Worker, info: ModelInfo, error: Error): void {
    this.logger.error({ msg: 'tokenizer worker stopped', error: error.message });
    // Its model worker is gone too: the one started in its place brings a tokenizer of its own.
    if (this.worker !== worker) return;
    this.restartLater('tokenizer worker', this.tokenizerRestarts, error, () => {
      // A model worker started since starts its own tokenizer once it is ready.
      if (this.worker !== worker) return;
      this.startTokenizer(worker, info).then(
        () => {
          if (this.worker === worker) this.events!.ready(info, []);
        },
        (failure: Error) => {
          if (this.worker !== worker) return;
          const unready = this.tokenizer;
          this.tokenizer = undefined;
          void unready?.terminate();
          this.onTokenizerGone(worker, info, failure);
        },
      );
    });
  }

  /** A call past its deadline: the worker is wedged (or as good as); replace it like a crashed one. */
  private onCallOverdue(worker: Worker, timeoutMs: number): void {
    this.onWorkerGone(worker, new Error(`a model call took longer than ${timeoutMs} ms`));
  }

  /**
   * A crashed, wedged or failed-to-(re)load worker fails its pending calls and, once a model was
   * ever ready, is replaced after its backoff; after MODEL_MAX_RESTARTS in a row without a
   * successful call it is beyond repair. Terminating it is safe here: it is dead, wedged, or never
   * ran a call.
   */
  private onWorkerGone(worker: Worker, error: Error): void {
    if (this.worker !== worker || this.stopping) return;
    this.worker = undefined;
    void worker.terminate();
    this.calls.failAll(error);
    this.logger.error({ msg: 'model worker stopped', error: error.message });
    if (!this.everReady) return this.events!.stopped(error, 'load-failed');
    this.restartLater('model worker', this.modelRestarts, error, () => this.startModelWorker());
  }

  /** Starts a lost worker again after `backoff`'s delay, or, past its restarts, reports it beyond repair. */
  private restartLater(name: string, backoff: RestartBackoff, error: Error, start: () => void): void {
    const delayMs = backoff.nextDelayMs();
    if (delayMs === undefined) {
      this.logger.error({ msg: `${name} beyond repair: liveness now fails`, restarts: backoff.inARow });
      return this.events!.stopped(error, 'beyond-repair');
    }
    this.logger.warn({ msg: `restarting the ${name}`, attempt: backoff.inARow, delayMs });
    this.events!.stopped(error, 'restarting');
    setTimeout(() => {
      if (!this.stopping) start();
    }, delayMs).unref();
  }
}
