/**
 * Every setting of the service, read once from the environment and validated.
 * This is the only place that reads `process.env`.
 */

export type ModelDtype = 'fp32' | 'q8';
export type ModelFallback = 'baseline' | 'none';
export type BaselinePreset = 'tiny' | 'base';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type NodeEnv = 'production' | 'development' | 'test';

export interface Settings {
  readonly nodeEnv: NodeEnv;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  readonly modelId: string;
  readonly modelDir: string;
  readonly modelDtype: ModelDtype;
  readonly allowRemoteModels: boolean;
  readonly modelFallback: ModelFallback;
  readonly baselinePreset: BaselinePreset;
  /** ONNX Runtime intra-op threads; 0 follows the CPUs this process may use. */
  readonly onnxThreads: number;
  readonly maxBatchSize: number;
  readonly maxTextChars: number;
  readonly maxBodyBytes: number;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export class InvalidSettingError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    received: string,
  ) {
    super(`Invalid configuration: ${variable} must be ${expected} (got ${JSON.stringify(received)})`);
    this.name = 'InvalidSettingError';
  }
}

function read(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidSettingError(name, `an integer from ${min} to ${max}`, raw);
  }
  return value;
}

function oneOf<T extends string>(env: Environment, name: string, allowed: readonly T[], fallback: T): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new InvalidSettingError(name, `one of ${allowed.join(', ')}`, raw);
  }
  return raw as T;
}

function boolean(env: Environment, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase();
  if (['true', '1', 'yes'].includes(lower)) return true;
  if (['false', '0', 'no'].includes(lower)) return false;
  throw new InvalidSettingError(name, 'true or false', raw);
}

function text(env: Environment, name: string, fallback: string, pattern?: RegExp, expected?: string): string {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (pattern && !pattern.test(raw)) throw new InvalidSettingError(name, expected ?? `like ${pattern}`, raw);
  return raw;
}

export const DEFAULT_MODEL_ID = 'Xenova/distilbert-base-uncased-finetuned-sst-2-english';
const MIB = 1024 * 1024;

export function loadSettings(env: Environment = process.env): Settings {
  const nodeEnv = oneOf<NodeEnv>(env, 'NODE_ENV', ['production', 'development', 'test'], 'development');
  return {
    nodeEnv,
    host: text(env, 'HOST', '0.0.0.0'),
    port: integer(env, 'PORT', 8000, 1, 65535),
    logLevel: oneOf<LogLevel>(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    modelId: text(env, 'MODEL_ID', DEFAULT_MODEL_ID, /^[\w.-]+(\/[\w.-]+)?$/, 'a model id such as owner/name'),
    modelDir: text(env, 'MODEL_DIR', './models'),
    modelDtype: oneOf<ModelDtype>(env, 'MODEL_DTYPE', ['fp32', 'q8'], 'fp32'),
    allowRemoteModels: boolean(env, 'ALLOW_REMOTE_MODELS', true),
    // Outside production a missing model must not stop a newcomer; in production it must be loud.
    modelFallback: oneOf<ModelFallback>(
      env,
      'MODEL_FALLBACK',
      ['baseline', 'none'],
      nodeEnv === 'production' ? 'none' : 'baseline',
    ),
    baselinePreset: oneOf<BaselinePreset>(env, 'BASELINE_PRESET', ['tiny', 'base'], 'base'),
    onnxThreads: integer(env, 'ONNX_THREADS', 0, 0, 256),
    maxBatchSize: integer(env, 'MAX_BATCH_SIZE', 1000, 1, 100_000),
    maxTextChars: integer(env, 'MAX_TEXT_CHARS', 10_000, 1, 1_000_000),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 2 * MIB, 1024, 1024 * MIB),
  };
}
