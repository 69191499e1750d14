import { Inject, Injectable } from '@nestjs/common';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';

/**
 * Test-only hook for chaos tests: makes one model call fail inside the model worker, where an
 * ONNX Runtime error would, so a test can prove that a failed batch costs only its own requests.
 * Inert unless NODE_ENV=test; the worker also ignores the request outside tests.
 */
@Injectable()
export class ModelFaultInjector {
  private armed?: (texts: number) => void;

  constructor(@Inject(SETTINGS) private readonly settings: Settings) {}

  get enabled(): boolean {
    return this.settings.nodeEnv === 'test';
  }

  /** The next model call fails; resolves with the number of texts that call carried. */
  failNextCall(): Promise<number> {
    if (!this.enabled) throw new Error('Model fault injection is only available with NODE_ENV=test.');
    return new Promise((resolve) => (this.armed = resolve));
  }

  /** Asked by SentimentModel for each call of `texts` texts: true when that call must fail. */
  takeFault(texts: number): boolean {
    const armed = this.armed;
    this.armed = undefined;
    armed?.(texts);
    return armed !== undefined;
  }
}
