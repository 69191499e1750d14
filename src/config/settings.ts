import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * Every setting of the service, read once from the environment and validated.
 * This is the only place that reads `process.env`.
 */

export type ModelDtype = 'fp32' | 'q8';
export type ModelFallback = 'baseline' | 'none';
export type BaselinePreset = 'tiny' | 'base';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type NodeEnv = 'production' | 'development' | 'test';
export type CacheScope = 'tenant' | 'shared';

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
  /** After SIGTERM/SIGINT: how long readiness reports 503 while requests are still served, before closing. */
  readonly shutdownDrainMs: number;
  /** After the drain: how long requests in flight may still take before their connections are closed. */
  readonly shutdownInFlightMs: number;
  /** Redis for the prediction cache and the rate limits; unset → both in this process's memory. */
  readonly redisUrl?: string;
  readonly cacheTtlSeconds: number;
  /** Entries the in-memory cache keeps (least recently used go first); unused with Redis. */
  readonly cacheMaxEntries: number;
  /** Longest wait for any one Redis call (cache or rate limit) before the request goes on without it. */
  readonly cacheTimeoutMs: number;
  /** When set, cache keys are HMAC-SHA256 of the text, so reading Redis cannot confirm guessed texts. */
  readonly cacheKeySecret?: string;
  /**
   * `tenant`: with API keys, each key has its own cache entries, so one key cannot learn from a
   * hit what another sent. `shared`: every key reads every entry (more hits, that oracle open).
   */
  readonly cacheScope: CacheScope;
  /** Most padded tokens (texts × longest sequence) in one model call. */
  readonly batchMaxTokens: number;
  /** Most texts in one model call. */
  readonly batchMaxTexts: number;
  /** How long the first queued text waits for others before its batch runs anyway. */
  readonly batchWindowMs: number;
  /** Tokens allowed to wait for the model (a memory bound); past it requests get 503 at once. */
  readonly queueMaxTokens: number;
  /** Model calls run at the same time (1 leaves the cores to ONNX Runtime's own threads). */
  readonly maxConcurrentBatches: number;
  /**
   * The least time a model call gets before the watchdog declares the worker wedged, fails the
   * call's requests and restarts it; a call expected to be long gets 10 × its expected time.
   */
  readonly modelCallTimeoutMs: number;
  /** First delay before restarting a lost model worker; it doubles with each restart in a row. */
  readonly modelRestartBackoffMs: number;
  /** Restarts in a row without a successful call after which liveness fails (the pod is replaced). */
  readonly modelMaxRestarts: number;
  /**
   * Per-request deadline in milliseconds: a request is admitted only if the cost model expects
   * it to finish within it, and answered 503 when it passes.
   */
  readonly requestTimeoutMs: number;
  /** Keys accepted on /v1 routes (`API_KEYS` or `API_KEYS_FILE`); empty = the API is open. */
  readonly apiKeys: readonly string[];
  /** `ALLOW_ANONYMOUS=true`: in production, serve without API keys anyway (refused otherwise). */
  readonly allowAnonymous: boolean;
  /** The key GET /metrics needs (`METRICS_API_KEY` or `METRICS_API_KEY_FILE`); unset = /metrics is open. */
  readonly metricsApiKey?: string;
  /** Browser origins allowed to call the API (CORS); empty = CORS off, no cross-origin browser calls. */
  readonly corsOrigins: readonly string[];
  /** Rate limiting of the /v1 routes per API key (per IP without keys). */
  readonly rateLimitEnabled: boolean;
  readonly rateLimitPerMinute: number;
  /** Failed key checks (401s) one client IP may cause per minute before it gets 429s instead. */
  readonly authFailuresPerMinute: number;
  /** Fastify `trustProxy`: whose `X-Forwarded-*` headers to believe: nobody, anybody, or these IPs/CIDRs. */
  readonly trustProxy: boolean | readonly string[];
  /** Limits of the HTTP server itself (Node/Fastify), against clients that are slow or hold connections. */
  readonly http: HttpServerLimits;
  /** Bulk scoring jobs (need `REDIS_URL`). */
  readonly jobs: JobSettings;
}

export interface JobSettings {
  /** Most texts (NDJSON lines) one job may hold (`JOB_MAX_TEXTS`). */
  readonly maxTexts: number;
  /** Most bytes of one job's NDJSON body (`JOB_MAX_BYTES`). */
  readonly maxBytes: number;
  /** Texts per chunk, the unit a worker takes from the queue (`JOB_CHUNK_TEXTS`). */
  readonly chunkTexts: number;
  /** How long a job's status and results stay in Redis after its last change (`JOB_RESULT_TTL_SECONDS`). */
  readonly resultTtlSeconds: number;
  /** Texts of unexpired jobs one API key may hold at once (`JOB_STORED_TEXTS_PER_KEY`). */
  readonly storedTextsPerKey: number;
  /** Chunks this replica works on at once (`JOB_WORKER_CONCURRENCY`). */
  readonly workerConcurrency: number;
}

export interface HttpServerLimits {
  /** Longest time to receive a whole request, headers and body (Node `requestTimeout`); 0 = none. */
  readonly requestTimeoutMs: number;
  /** Longest time to receive the headers (Node `headersTimeout`); at most `requestTimeoutMs`. */
  readonly headersTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed (Fastify `connectionTimeout`); 0 = never. */
  readonly connectionTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (Fastify `keepAliveTimeout`). */
  readonly keepAliveTimeoutMs: number;
  /** Open connections the server accepts at once (Node `maxConnections`); more are closed at once. */
  readonly maxConnections: number;
  /** Open connections one peer address may hold; more are closed at once. 0 = no per-address cap. */
  readonly maxConnectionsPerIp: number;
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

/** A setting with no default; the message never echoes the value (it may be a secret). */
function optionalText(env: Environment, name: string, pattern: RegExp, expected: string): string | undefined {
  const raw = read(env, name);
  if (raw !== undefined && !pattern.test(raw)) throw new InvalidSettingError(name, expected, '<hidden>');
  return raw;
}

const API_KEY = /^[\x21-\x2b\x2d-\x7e]{16,512}$/;

interface ConfiguredKeys {
  /** The variable the keys came from, for messages. */
  variable: string;
  keys: string[];
}

/**
 * Keys from `inlineVariable` (comma-separated) or `fileVariable` (one per line, e.g. a mounted
 * Kubernetes Secret); undefined when neither is set. Messages never echo a key.
 */
function configuredKeys(env: Environment, inlineVariable: string, fileVariable: string): ConfiguredKeys | undefined {
  const inline = read(env, inlineVariable);
  const file = read(env, fileVariable);
  if (inline !== undefined && file !== undefined) {
    throw new InvalidSettingError(fileVariable, `unset when ${inlineVariable} is set`, file);
  }
  let raw: string[];
  let variable: string;
  if (file !== undefined) {
    variable = fileVariable;
    try {
      raw = readFileSync(file, 'utf8').split(/\r?\n/);
    } catch {
      throw new InvalidSettingError(variable, 'a readable file', file);
    }
  } else if (inline !== undefined) {
    variable = inlineVariable;
    raw = inline.split(',');
  } else {
    return undefined;
  }
  const keys = raw.map((key) => key.trim()).filter((key) => key !== '');
  if (keys.some((key) => !API_KEY.test(key))) {
    throw new InvalidSettingError(
      variable,
      'keys of 16 to 512 printable characters without spaces or commas',
      '<hidden>',
    );
  }
  if (file !== undefined && keys.length === 0)
    throw new InvalidSettingError(variable, 'a file with at least one key', file);
  return { variable, keys: [...new Set(keys)] };
}

/**
 * `METRICS_API_KEY` / `METRICS_API_KEY_FILE`: one key, never one of the API keys, so neither kind
 * of key opens what the other guards.
 */
function metricsApiKey(env: Environment, apiKeys: readonly string[]): string | undefined {
  const configured = configuredKeys(env, 'METRICS_API_KEY', 'METRICS_API_KEY_FILE');
  if (configured === undefined) return undefined;
  const [key, ...others] = configured.keys;
  if (key === undefined || others.length > 0) throw new InvalidSettingError(configured.variable, 'one key', '<hidden>');
  if (apiKeys.includes(key)) {
    throw new InvalidSettingError(configured.variable, 'a key that is not also in API_KEYS', '<hidden>');
  }
  return key;
}

function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}

/**
 * `TRUST_PROXY`: `true`, `false`, or the comma-separated IPs/CIDRs of the proxies in front. No hop
 * count: Fastify 5.12.1 and later ignore one, because it cannot tell a proxy from a client that
 * connects directly and writes its own `X-Forwarded-For`.
 */
function trustProxy(env: Environment): boolean | string[] {
  const raw = read(env, 'TRUST_PROXY');
  if (raw === undefined || raw.toLowerCase() === 'false') return false;
  if (raw.toLowerCase() === 'true') return true;
  const list = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (list.length === 0 || !list.every(isAddressOrCidr)) {
    throw new InvalidSettingError(
      'TRUST_PROXY',
      'true, false or the comma-separated IP addresses or CIDRs of the proxies, e.g. 10.240.0.0/16 (a hop count is not supported)',
      raw,
    );
  }
  return [...new Set(list)];
}

/** `CORS_ORIGINS`: comma-separated origins such as `https://app.example.com` (scheme, host, optional port). */
function origins(env: Environment, name: string): string[] {
  const raw = read(env, name);
  if (raw === undefined) return [];
  const list = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  const invalid = list.find((origin) => !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin));
  if (invalid !== undefined)
    throw new InvalidSettingError(name, 'comma-separated origins like https://app.example.com', invalid);
  return [...new Set(list)];
}

/**
 * `CACHE_KEY_SECRET` or `CACHE_KEY_SECRET_FILE` (a mounted Kubernetes Secret; surrounding
 * whitespace ignored). Messages never echo the secret.
 */
function cacheKeySecret(env: Environment): string | undefined {
  const inline = optionalText(env, 'CACHE_KEY_SECRET', /^.{16,}$/s, 'at least 16 characters');
  const file = read(env, 'CACHE_KEY_SECRET_FILE');
  if (file === undefined) return inline;
  if (inline !== undefined)
    throw new InvalidSettingError('CACHE_KEY_SECRET_FILE', 'unset when CACHE_KEY_SECRET is set', file);
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch {
    throw new InvalidSettingError('CACHE_KEY_SECRET_FILE', 'a readable file', file);
  }
  if (secret.length < 16)
    throw new InvalidSettingError('CACHE_KEY_SECRET_FILE', 'a file of at least 16 characters', file);
  return secret;
}

/**
 * Production refuses to start open by accident: without API keys unless anonymous access is
 * asked for explicitly, and with a shared Redis only if cache keys are HMACs (otherwise whoever
 * can write to Redis can plant an answer under SHA-256 of a chosen text).
 */
function requireProductionSafety(settings: Settings): void {
  if (settings.nodeEnv !== 'production') return;
  if (settings.apiKeys.length === 0 && !settings.allowAnonymous) {
    throw new InvalidSettingError(
      'API_KEYS',
      'set (or API_KEYS_FILE) when NODE_ENV=production, unless ALLOW_ANONYMOUS=true opens the API on purpose',
      '',
    );
  }
  if (settings.redisUrl !== undefined && settings.cacheKeySecret === undefined) {
    throw new InvalidSettingError(
      'CACHE_KEY_SECRET',
      'set (or CACHE_KEY_SECRET_FILE) when NODE_ENV=production and REDIS_URL is set',
      '',
    );
  }
}

/** What the service logs as a warning at start: settings that are allowed but weaken it. */
export function startupWarnings(settings: Settings): string[] {
  const warnings: string[] = [];
  if (settings.nodeEnv === 'production' && settings.allowAnonymous && settings.apiKeys.length === 0) {
    warnings.push('ALLOW_ANONYMOUS=true and no API_KEYS: the API is open to anyone who can reach it');
  }
  return warnings;
}

/** How long past the inference deadline a silent connection is kept: the answer still has to be written. */
const ANSWER_MARGIN_MS = 10_000;

function httpServerLimits(env: Environment, inferenceDeadlineMs: number): HttpServerLimits {
  const requestTimeoutMs = integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 0, 3_600_000);
  const headersTimeoutMs = integer(
    env,
    'HTTP_HEADERS_TIMEOUT_MS',
    Math.min(10_000, requestTimeoutMs || 10_000),
    1,
    3_600_000,
  );
  // Node refuses a headers timeout above the request timeout: it could never fire.
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) {
    throw new InvalidSettingError(
      'HTTP_HEADERS_TIMEOUT_MS',
      `at most HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
      String(headersTimeoutMs),
    );
  }
  return {
    requestTimeoutMs,
    headersTimeoutMs,
    connectionTimeoutMs: connectionTimeout(env, inferenceDeadlineMs),
    // Above the idle timeout of the proxies in front (nginx: 60 s), so they, not we, close idle connections.
    keepAliveTimeoutMs: integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1, 3_600_000),
    maxConnections: integer(env, 'HTTP_MAX_CONNECTIONS', 4096, 1, 1_000_000),
    maxConnectionsPerIp: integer(env, 'HTTP_MAX_CONNECTIONS_PER_IP', 1024, 0, 1_000_000),
  };
}

/**
 * `HTTP_CONNECTION_TIMEOUT_MS`: a connection silent both ways is closed. A request waiting for the
 * model is silent too, for up to REQUEST_TIMEOUT_MS, so the timeout must outlast that deadline or it
 * would cut the connection of a request the service promised to answer.
 */
function connectionTimeout(env: Environment, inferenceDeadlineMs: number): number {
  const least = inferenceDeadlineMs + ANSWER_MARGIN_MS;
  const value = integer(env, 'HTTP_CONNECTION_TIMEOUT_MS', Math.max(60_000, least), 0, 3_600_000);
  if (value !== 0 && value < least) {
    throw new InvalidSettingError(
      'HTTP_CONNECTION_TIMEOUT_MS',
      `0 or at least REQUEST_TIMEOUT_MS + ${ANSWER_MARGIN_MS} (${least})`,
      String(value),
    );
  }
  return value;
}

function jobSettings(env: Environment): JobSettings {
  return {
    maxTexts: integer(env, 'JOB_MAX_TEXTS', 1_000_000, 1, 100_000_000),
    maxBytes: integer(env, 'JOB_MAX_BYTES', 256 * MIB, 1024, 16 * 1024 * MIB),
    chunkTexts: integer(env, 'JOB_CHUNK_TEXTS', 256, 1, 10_000),
    resultTtlSeconds: integer(env, 'JOB_RESULT_TTL_SECONDS', 24 * 3600, 60, 30 * 24 * 3600),
    storedTextsPerKey: integer(env, 'JOB_STORED_TEXTS_PER_KEY', 5_000_000, 1, 1_000_000_000),
    workerConcurrency: integer(env, 'JOB_WORKER_CONCURRENCY', 2, 1, 64),
  };
}

export const DEFAULT_MODEL_ID = 'Xenova/distilbert-base-uncased-finetuned-sst-2-english';
const MIB = 1024 * 1024;

export function loadSettings(env: Environment = process.env): Settings {
  const nodeEnv = oneOf<NodeEnv>(env, 'NODE_ENV', ['production', 'development', 'test'], 'development');
  const maxBatchSize = integer(env, 'MAX_BATCH_SIZE', 1000, 1, 100_000);
  const apiKeys = configuredKeys(env, 'API_KEYS', 'API_KEYS_FILE')?.keys ?? [];
  const requestTimeoutMs = integer(env, 'REQUEST_TIMEOUT_MS', 30_000, 100, 600_000);
  const settings: Settings = {
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
    maxBatchSize,
    maxTextChars: integer(env, 'MAX_TEXT_CHARS', 10_000, 1, 1_000_000),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 2 * MIB, 1024, 1024 * MIB),
    shutdownDrainMs: integer(env, 'SHUTDOWN_DRAIN_MS', 5000, 0, 600_000),
    shutdownInFlightMs: integer(env, 'SHUTDOWN_IN_FLIGHT_MS', 5000, 0, 600_000),
    redisUrl: optionalText(env, 'REDIS_URL', /^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL'),
    cacheTtlSeconds: integer(env, 'CACHE_TTL_SECONDS', 3600, 1, 30 * 24 * 3600),
    cacheMaxEntries: integer(env, 'CACHE_MAX_ENTRIES', 10_000, 1, 10_000_000),
    cacheTimeoutMs: integer(env, 'CACHE_TIMEOUT_MS', 50, 1, 10_000),
    cacheKeySecret: cacheKeySecret(env),
    cacheScope: oneOf<CacheScope>(env, 'CACHE_SCOPE', ['tenant', 'shared'], 'tenant'),
    // At least one text of the longest sequence DistilBERT takes (512 tokens) must fit in a call.
    batchMaxTokens: integer(env, 'BATCH_MAX_TOKENS', 1024, 512, 1_000_000),
    batchMaxTexts: integer(env, 'BATCH_MAX_TEXTS', 32, 1, 4096),
    batchWindowMs: integer(env, 'BATCH_WINDOW_MS', 2, 0, 1000),
    queueMaxTokens: integer(env, 'QUEUE_MAX_TOKENS', 1_000_000, 512, 100_000_000),
    maxConcurrentBatches: integer(env, 'MAX_CONCURRENT_BATCHES', 1, 1, 64),
    modelCallTimeoutMs: integer(env, 'MODEL_CALL_TIMEOUT_MS', 10_000, 100, 600_000),
    modelRestartBackoffMs: integer(env, 'MODEL_RESTART_BACKOFF_MS', 1000, 0, 600_000),
    modelMaxRestarts: integer(env, 'MODEL_MAX_RESTARTS', 5, 0, 100),
    requestTimeoutMs,
    apiKeys,
    allowAnonymous: boolean(env, 'ALLOW_ANONYMOUS', false),
    metricsApiKey: metricsApiKey(env, apiKeys),
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    rateLimitEnabled: boolean(env, 'RATE_LIMIT_ENABLED', true),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    authFailuresPerMinute: integer(env, 'AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    trustProxy: trustProxy(env),
    http: httpServerLimits(env, requestTimeoutMs),
    jobs: jobSettings(env),
  };
  requireProductionSafety(settings);
  return settings;
}
