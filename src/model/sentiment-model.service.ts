import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { UnavailableError } from '../common/unavailable-error.js';
import { usableCpuCount } from './cpu-budget.js';
import type { Prediction } from './label-scores.js';
import { ModelFaultInjector } from './model-fault-injector.js';
import type { ModelInfo } from './model-runtime.js';
import type { ModelWorkerData, ToMain, ToWorker } from './model-worker-protocol.js';

export type { ModelInfo, ModelSource } from './model-runtime.js';
export type ModelState = 'loading' | 'ready' | 'failed';
/** Called after each model call with how many texts it carried, how long it took and whether it failed. */
export type ModelCallListener = (batchSize: number, seconds: number, failed: boolean) => void;

/** Seconds a client should wait before retrying while the model loads. */
const LOADING_RETRY_AFTER_SECONDS = 5;
/** Longest wait at shutdown for model calls still running before the worker is terminated anyway. */
const SHUTDOWN_CALLS_WAIT_MS = 10_000;

interface Call {
  resolve(predictions: Prediction[]): void;
  reject(error: Error): void;
}

/**
 * Starts the compiled worker next to this file or, running from TypeScript sources (tests),
 * the .ts one through tsx's loader, which a worker must register for itself.
 */
function startModelWorker(workerData: ModelWorkerData): Worker {
  const compiled = new URL('./model-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, { workerData });
  const source = JSON.stringify(new URL('./model-worker.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${source}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/**
 * The DistilBERT sentiment model as the rest of the app sees it: loads once in the background
 * (on a worker thread, see ModelRuntime), reports its state, and classifies batches of texts.
 */
@Injectable()
export class SentimentModel implements OnApplicationShutdown {
  private readonly logger = new Logger(SentimentModel.name);
  private loading?: Promise<void>;
  private worker?: Worker;
  private loaded?: ModelInfo;
  private failure?: Error;
  private nextCallId = 1;
  private readonly calls = new Map<number, Call>();
  private stopping = false;
  private readonly callListeners: ModelCallListener[] = [];
  private onIdle?: () => void;

  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(ModelFaultInjector) private readonly faults: ModelFaultInjector,
  ) {}

  get state(): ModelState {
    if (this.loaded) return 'ready';
    return this.failure ? 'failed' : 'loading';
  }

  get ready(): boolean {
    return this.loaded !== undefined;
  }

  /** Why loading failed, with what to do about it; undefined unless `state` is 'failed'. */
  get failureReason(): string | undefined {
    return this.failure?.message;
  }

  get info(): ModelInfo | undefined {
    return this.loaded;
  }

  /** The id the service is configured for (known before loading finishes). */
  get configuredId(): string {
    return this.loaded?.id ?? this.settings.modelId;
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
    this.loading ??= this.startWorker();
    return this.loading;
  }

  async classify(texts: readonly string[]): Promise<Prediction[]> {
    this.requireInfo();
    if (this.stopping) throw new UnavailableError('The service is shutting down.', 1, 'model-not-ready');
    if (texts.length === 0) return [];
    const id = this.nextCallId++;
    const started = performance.now();
    const message: ToWorker = { type: 'classify', id, texts: [...texts] };
    if (this.faults.takeFault(texts.length)) message.injectFault = true;
    let failed = true;
    return new Promise<Prediction[]>((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker!.postMessage(message);
    })
      .then((predictions) => {
        failed = false;
        return predictions;
      })
      .finally(() => {
        const seconds = (performance.now() - started) / 1000;
        for (const listener of this.callListeners) listener(texts.length, seconds, failed);
      });
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
    if (this.calls.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SHUTDOWN_CALLS_WAIT_MS);
        this.onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await this.worker?.terminate();
  }

  private startWorker(): Promise<void> {
    const options: ModelWorkerData = {
      modelId: this.settings.modelId,
      modelDir: this.settings.modelDir,
      modelDtype: this.settings.modelDtype,
      allowRemoteModels: this.settings.allowRemoteModels,
      modelFallback: this.settings.modelFallback,
      baselinePreset: this.settings.baselinePreset,
      threads: this.settings.onnxThreads || usableCpuCount(),
      faultInjection: this.faults.enabled,
    };
    const worker = startModelWorker(options);
    // The worker must never keep the process alive on its own; shutdown terminates it.
    worker.unref();
    this.worker = worker;
    return new Promise<void>((settled) => {
      worker.on('message', (message: ToMain) => this.onMessage(message, settled));
      worker.on('error', (error) => this.onWorkerGone(worker, error, settled));
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
        this.loaded = message.info;
        this.failure = undefined;
        this.logger.log({
          msg: 'model ready',
          model: message.info.id,
          source: message.info.source,
          dtype: message.info.dtype,
          threads: message.info.threads,
          loadTimeMs: message.info.loadTimeMs,
        });
        settled();
        return;
      case 'failed':
        // A worker that could not load has nothing left to do; the failure stays visible in `state`.
        void this.worker?.terminate();
        this.worker = undefined;
        this.failure = new Error(message.message);
        this.logger.error({ msg: 'model failed to load', error: message.message });
        settled();
        return;
      case 'result':
        this.takeCall(message.id)?.resolve(message.predictions);
        return;
      case 'error':
        this.takeCall(message.id)?.reject(new Error(message.message));
        return;
    }
  }

  private takeCall(id: number): Call | undefined {
    const call = this.calls.get(id);
    this.calls.delete(id);
    if (this.calls.size === 0) this.onIdle?.();
    return call;
  }

  /** A crashed worker fails its pending calls and is replaced, so one bad run does not end the pod. */
  private onWorkerGone(worker: Worker, error: Error, settled: () => void): void {
    if (this.worker !== worker || this.stopping) return;
    this.worker = undefined;
    const wasReady = this.ready;
    this.loaded = undefined;
    for (const call of this.calls.values()) call.reject(error);
    this.calls.clear();
    this.logger.error({ msg: 'model worker stopped', error: error.message });
    if (wasReady) {
      this.loading = this.startWorker();
    } else {
      this.failure = error;
      settled();
    }
  }
}
