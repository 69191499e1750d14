import { resolve } from 'node:path';
import { warmUpAndCalibrate, type TimedCall } from './calibration.js';
import { resolveModel, type LoadLog, type ModelLoadOptions } from './model-resolution.js';
import { describeModel, ModelSession } from './model-session.js';
import { useHub, useModelDir } from './transformers-env.js';

/** A model worker's model: its session, and the calls timed at load (calibration.ts). */
export interface ModelRuntime {
  session: ModelSession;
  calibration: TimedCall[];
}

/**
 * Loads the model a thread serves, ready for traffic: transformers.js pointed at MODEL_DIR and the
 * hub, the files found (model-resolution.ts), the session opened, warmed up and timed.
 */
export async function loadModelRuntime(options: ModelLoadOptions, log: LoadLog): Promise<ModelRuntime> {
  const started = performance.now();
  const modelDir = resolve(options.modelDir);
  useModelDir(modelDir);
  useHub(options);
  const resolved = await resolveModel(options, modelDir, log);
  const session = new ModelSession(describeModel(resolved, options), resolved.tokenizer, resolved.model);
  const calibration = await warmUpAndCalibrate(session);
  session.info.loadTimeMs = Math.round(performance.now() - started);
  return { session, calibration };
}
