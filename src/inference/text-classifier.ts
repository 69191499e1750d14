import type { Caller } from '../common/caller.js';
import type { ModelOutput } from '../model/label-scores.js';
import type { ModelInfo } from '../model/model-session.js';
import type { TruncationSide } from '../model/token-sequences.js';
import type { ChunkOptions } from './long-text.js';
import type { Priority } from './token-scheduler.js';

/** How one request wants its texts read and scheduled. */
export interface ReadOptions {
  /**
   * The model as the request found it (its fingerprint keys the cache, its labels check a cached
   * answer, its maximum sequence length bounds texts): one look per request, so all agree.
   */
  readonly model: Pick<ModelInfo, 'fingerprint' | 'labels' | 'maxSequenceLength'>;
  /** Which end of a text longer than the model takes is cut (default right). */
  readonly truncation?: TruncationSide;
  /** False: such a text is refused (TooManyTokensError) instead of cut. */
  readonly truncate?: boolean;
  /** Set: `long_text: "chunk"`, each text read whole in overlapping windows (nothing is cut). */
  readonly chunk?: ChunkOptions;
  /** `bulk` (job chunks) only fills idle model time and is never refused; default `interactive`. */
  readonly priority?: Priority;
  /**
   * A signal aborted when the client hangs up (or its job is cancelled); asked for only when texts
   * go to the model, so a request answered from the cache costs no AbortController.
   */
  readonly signal?: () => AbortSignal | undefined;
}

/** Where a text's answer came from: the cache, the model, or the model because the cache was unusable. */
export type TextSource = 'hit' | 'miss' | 'bypass';

/** One output per text, in order, and where each came from. */
export interface Classified {
  readonly outputs: ModelOutput[];
  readonly sources: TextSource[];
}

/**
 * Texts in, the model's logits out. The service asks the prediction cache, a decorator that
 * answers what it holds and passes the rest to the next classifier: the scheduler and the model.
 * Limit errors (TooManyTokensError, TooManyWindowsError, TooManyRequestWindowsError) name
 * positions among the texts given.
 */
export interface TextClassifier {
  classify(texts: readonly string[], caller: Caller, options: ReadOptions): Promise<Classified>;
}

/** The classifier the service asks: the prediction cache in front of the model. */
export const TEXT_CLASSIFIER = Symbol('TEXT_CLASSIFIER');
