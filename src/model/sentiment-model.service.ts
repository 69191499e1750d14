import { Injectable, Logger } from '@nestjs/common';
import { UnavailableError } from '../common/unavailable-error.js';
import type { TokenizedTexts, TruncationSide } from './token-sequences.js';
import type { TimedCall } from './calibration.js';
import type { ModelInfo } from './model-session.js';
import { ModelWorkerClient, type WorkerLoss } from './model-worker-client.js';

export type { ModelInfo } from './model-session.js';
export type ModelState = 'loading' | 'ready' | 'failed';
/** Called after each model call with how many texts it carried, how long it took and whether it failed. */
export type ModelCallListener = (batchSize: number, seconds: number, failed: boolean) => void;

/** Seconds a client should wait before retrying while the model loads. */
const LOADING_RETRY_AFTER_SECONDS = 5;

/**
 * The DistilBERT sentiment model as the rest of the app sees it: loads once in the background
 * (on worker threads run by ModelWorkerClient), reports its state and info, tokenizes texts and
 * classifies batches of token sequences. The one owner of the model's state (loading, ready,
 * failed, beyond repair, restarts), kept from what ModelWorkerClient reports.
 */
@Injectable()
export class SentimentModel {
  private readonly logger = new Logger(SentimentModel.name);
  private loading?: Promise<void>;
  private loaded?: ModelInfo;
  private failure?: Error;
  private gaveUp = false;
  private restartCount = 0;
  private readonly callListeners: ModelCallListener[] = [];
  private readonly readyListeners: ((calibration: TimedCall[]) => void)[] = [];

  constructor(private readonly workers: ModelWorkerClient) {}

  get state(): ModelState {
    if (this.loaded) return 'ready';
    return this.failure ? 'failed' : 'loading';
  }

  get ready(): boolean {
    return this.loaded !== undefined;
  }

  /**
   * True once the model worker or the tokenizer worker was lost and MODEL_MAX_RESTARTS restarts in
   * a row did not bring it back: the process cannot recover by itself, so liveness fails and the
   * orchestrator replaces it.
   */
  get beyondRepair(): boolean {
    return this.gaveUp;
  }

  /** Worker restarts since the process started (model worker: crashed, wedged or failed to reload; tokenizer worker: crashed). */
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

  /** Starts loading once; later calls return the same promise, settled by the first load. Never rejects: see `state`. */
  load(): Promise<void> {
    this.loading ??= new Promise<void>((settled) =>
      this.workers.start({
        ready: (info, calibration) => {
          this.becameReady(info, calibration);
          settled();
        },
        stopped: (error, loss) => {
          this.stopped(error, loss);
          if (loss !== 'restarting') settled();
        },
      }),
    );
    return this.loading;
  }

  /** Token ids of each text, special tokens included, cut to the model's maximum length from `truncation`'s side. */
  async tokenize(texts: readonly string[], truncation: TruncationSide = 'right'): Promise<TokenizedTexts> {
    this.requireInfo();
    return this.workers.tokenize(texts, truncation);
  }

  /**
   * Token ids of each text cut into windows the model takes whole, consecutive windows sharing
   * `stridePercent` % of a window (src/model/token-windows.ts): every window, text after text, and
   * each text's window count.
   */
  async tokenizeWindows(
    texts: readonly string[],
    stridePercent: number,
  ): Promise<TokenizedTexts & { windowCounts: number[] }> {
    this.requireInfo();
    const { windowCounts, ...tokenized } = await this.workers.tokenize(texts, 'right', stridePercent);
    if (!windowCounts) throw new Error('the tokenizer worker answered a windowed call without window counts');
    return { ...tokenized, windowCounts };
  }

  /**
   * One model call on token sequences from `tokenize`: one row of logits (in label order) per
   * sequence, in order. A call not answered within `timeoutMs` fails, and its worker is replaced.
   */
  async classifySequences(sequences: readonly Int32Array[], timeoutMs?: number): Promise<number[][]> {
    this.requireInfo();
    if (sequences.length === 0) return [];
    const started = performance.now();
    let failed = true;
    try {
      const logits = await this.workers.classify(sequences, timeoutMs);
      failed = false;
      return logits;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      for (const listener of this.callListeners) listener(sequences.length, seconds, failed);
    }
  }

  /**
   * Called each time the model is ready again, with the calls it timed at load (to calibrate cost
   * estimates): none after only its tokenizer worker was restarted.
   */
  onReady(listener: (calibration: TimedCall[]) => void): void {
    this.readyListeners.push(listener);
  }

  /** Observes every model call (not the warm-up), e.g. for metrics. */
  onModelCall(listener: ModelCallListener): void {
    this.callListeners.push(listener);
  }

  private becameReady(info: ModelInfo, calibration: TimedCall[]): void {
    this.loaded = info;
    this.failure = undefined;
    for (const listener of this.readyListeners) listener(calibration);
    this.logger.log({
      msg: 'model ready',
      model: info.id,
      source: info.source,
      dtype: info.dtype,
      threads: info.threads,
      loadTimeMs: info.loadTimeMs,
    });
  }

  /** A lost worker takes the model out of service; unless it is being restarted, the failure stays visible in `state`. */
  private stopped(error: Error, loss: WorkerLoss): void {
    this.loaded = undefined;
    if (loss === 'restarting') {
      this.restartCount++;
      return;
    }
    this.failure = error;
    this.gaveUp = loss === 'beyond-repair';
  }
}
