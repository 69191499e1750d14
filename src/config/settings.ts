import { readFileSync } from 'node:fs';
import {
  baseUrl,
  bearerToken,
  boolean,
  integer,
  InvalidSettingError,
  key,
  keys,
  oneOf,
  origins,
  pemFile,
  secret,
  sha256,
  text,
  trustedProxies,
  url,
  type Parser,
  type RawValue,
} from './setting-parsers.js';

export { InvalidSettingError } from './setting-parsers.js';

/**
 * Every setting of the service, read once from the environment and validated. This is the only
 * place that reads `process.env`. Each variable is declared once in {@link SETTING_DEFINITIONS}
 * (parser, default, description); docs/CONFIGURATION.md's table is generated from it
 * (`npm run docs:settings`).
 */

export type ModelDtype = 'fp32' | 'q8';
export type ModelFallback = 'baseline' | 'none';
export type BaselinePreset = 'tiny' | 'base';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type NodeEnv = 'production' | 'development' | 'test';
export type CacheScope = 'tenant' | 'shared';

/** The validated settings; each field is described by its entry in {@link SETTING_DEFINITIONS}. */
export interface Settings {
  readonly nodeEnv: NodeEnv;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  readonly modelId: string;
  readonly modelDir: string;
  readonly modelDtype: ModelDtype;
  readonly allowRemoteModels: boolean;
  readonly hubEndpoint: string;
  readonly hubToken?: string;
  readonly modelRevision: string;
  readonly modelSha256?: string;
  readonly modelFallback: ModelFallback;
  readonly baselinePreset: BaselinePreset;
  readonly onnxThreads: number;
  readonly maxBatchSize: number;
  readonly maxTextChars: number;
  readonly longTextStridePercent: number;
  readonly longTextMaxWindows: number;
  readonly longTextMaxWindowsPerRequest: number;
  readonly maxBodyBytes: number;
  readonly shutdownDrainMs: number;
  readonly shutdownInFlightMs: number;
  readonly redisUrl?: string;
  readonly redisUsername?: string;
  readonly redisPassword?: string;
  readonly redisCluster: boolean;
  /** TLS of every `rediss://` connection (cache, limiter, jobs): paths of PEM files. */
  readonly redisTlsCaFile?: string;
  readonly redisTlsCertFile?: string;
  readonly redisTlsKeyFile?: string;
  readonly cacheTtlSeconds: number;
  readonly cacheMaxEntries: number;
  readonly cacheTimeoutMs: number;
  readonly cacheKeySecret?: string;
  readonly cacheScope: CacheScope;
  readonly batchMaxTokens: number;
  readonly batchMaxTexts: number;
  readonly batchWindowMs: number;
  readonly queueMaxTokens: number;
  readonly maxConcurrentBatches: number;
  readonly modelCallTimeoutMs: number;
  readonly modelRestartBackoffMs: number;
  readonly modelMaxRestarts: number;
  readonly requestTimeoutMs: number;
  readonly apiKeys: readonly string[];
  readonly allowAnonymous: boolean;
  readonly metricsApiKey?: string;
  readonly corsOrigins: readonly string[];
  readonly rateLimitEnabled: boolean;
  readonly rateLimitPerMinute: number;
  readonly authFailuresPerMinute: number;
  readonly trustProxy: boolean | readonly string[];
  /** Limits of the HTTP server itself (Node/Fastify), against clients that are slow or hold connections. */
  readonly http: HttpServerLimits;
  /** Bulk scoring jobs (need `REDIS_URL`). */
  readonly jobs: JobSettings;
}

export interface JobSettings {
  /** The durable Redis of the job store and queue; REDIS_URL unless set. */
  readonly redisUrl?: string;
  readonly redisUsername?: string;
  readonly redisPassword?: string;
  readonly redisCluster: boolean;
  readonly maxTexts: number;
  readonly maxBytes: number;
  readonly chunkTexts: number;
  readonly resultTtlSeconds: number;
  readonly storedBytesPerKey: number;
  readonly workerConcurrency: number;
}

export interface HttpServerLimits {
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** The settings with the HTTP server limits and job settings flattened in as `http.<field>` and `jobs.<field>`: one key per variable. */
type FlatSettings = Omit<Settings, 'http' | 'jobs'> & {
  readonly [K in keyof HttpServerLimits as `http.${K}`]: HttpServerLimits[K];
} & {
  readonly [K in keyof JobSettings as `jobs.${K}`]: JobSettings[K];
};
type SettingKey = keyof FlatSettings;

/** Reads another setting, for a default that follows it. */
type SettingLookup = <K extends SettingKey>(key: K) => FlatSettings[K];

/** A default that follows other settings. */
export class DerivedDefault<T> {
  constructor(readonly compute: (setting: SettingLookup) => T) {}
}

function derived<T>(compute: (setting: SettingLookup) => T): DerivedDefault<T> {
  return new DerivedDefault(compute);
}

/** One environment variable: how it is read, its default, and what it means. */
export interface SettingDefinition<T> {
  readonly variable: string;
  /** Reads the value when the variable is set and not blank (surrounding whitespace is ignored). */
  readonly parse: Parser<T>;
  /** The value when the variable is unset. */
  readonly default: T | DerivedDefault<T>;
  /** How the docs state the default when the value alone does not say it (unset, a list, derived). */
  readonly documentedDefault?: string;
  /** Markdown, for docs/CONFIGURATION.md; links are relative to docs/. */
  readonly description: string;
  /** A variable naming a file that holds the value instead (e.g. a mounted Kubernetes Secret); set one or the other. */
  readonly file?: { readonly variable: string; readonly description: string };
}

type SettingDefinitions = { readonly [K in SettingKey]-?: SettingDefinition<FlatSettings[K]> };

export const DEFAULT_MODEL_ID = 'Xenova/distilbert-base-uncased-finetuned-sst-2-english';
const MIB = 1024 * 1024;
/** How long past the inference deadline a silent connection is kept: the answer still has to be written. */
const ANSWER_MARGIN_MS = 10_000;

/** Every setting, in the order of the docs table. */
export const SETTING_DEFINITIONS: SettingDefinitions = {
  port: { variable: 'PORT', parse: integer(1, 65535), default: 8000, description: 'HTTP port' },
  host: { variable: 'HOST', parse: text(), default: '0.0.0.0', description: 'interface to listen on' },
  nodeEnv: {
    variable: 'NODE_ENV',
    parse: oneOf(['production', 'development', 'test']),
    default: 'development',
    description:
      '`production` turns the baseline fallback off and refuses to start open ([Security](SECURITY.md#production-defaults))',
  },
  logLevel: {
    variable: 'LOG_LEVEL',
    parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    description: 'the least severe level logged (`silent`: nothing)',
  },
  modelId: {
    variable: 'MODEL_ID',
    parse: text(/^[\w.-]+(\/[\w.-]+)?$/, 'a model id such as owner/name'),
    default: DEFAULT_MODEL_ID,
    description: 'model to serve (a hub id; the folder under `MODEL_DIR`)',
  },
  modelDir: {
    variable: 'MODEL_DIR',
    parse: text(),
    default: './models',
    description: 'where model folders live and downloads land',
  },
  modelDtype: {
    variable: 'MODEL_DTYPE',
    parse: oneOf(['fp32', 'q8']),
    default: 'fp32',
    description: 'the ONNX file served: `fp32` `onnx/model.onnx`, `q8` `onnx/model_quantized.onnx` (int8-quantized)',
  },
  allowRemoteModels: {
    variable: 'ALLOW_REMOTE_MODELS',
    parse: boolean,
    default: true,
    description: 'download the model from the Hugging Face hub when it is not in `MODEL_DIR`',
  },
  hubEndpoint: {
    variable: 'HF_ENDPOINT',
    parse: baseUrl(['http', 'https']),
    default: 'https://huggingface.co',
    description:
      'the Hugging Face hub (or a mirror speaking its protocol) that models download from ([Models](MODELS.md))',
  },
  hubToken: {
    variable: 'HF_TOKEN',
    parse: bearerToken,
    default: undefined,
    documentedDefault: 'unset',
    description:
      'sent as `Authorization: Bearer` to `HF_ENDPOINT` only, for gated or private models; never logged ([Models](MODELS.md))',
  },
  modelRevision: {
    variable: 'MODEL_REVISION',
    // A branch, tag or commit as the hub names them (`refs/pr/1` included), never a path that climbs.
    parse: text(/^(?!.*\.\.)[\w.\-/]{1,255}$/, 'a branch, tag or commit'),
    default: 'main',
    description: 'the hub branch, tag or commit a download takes the model from',
  },
  modelSha256: {
    variable: 'MODEL_SHA256',
    parse: sha256,
    default: undefined,
    documentedDefault: 'unset: not checked',
    description:
      'the SHA-256 the ONNX file must have; a file with another digest is never served ([Models](MODELS.md))',
  },
  modelFallback: {
    variable: 'MODEL_FALLBACK',
    parse: oneOf(['baseline', 'none']),
    // Outside production a missing model must not stop a newcomer; in production it must be loud.
    default: derived((setting) => (setting('nodeEnv') === 'production' ? 'none' : 'baseline')),
    documentedDefault: '`baseline` (`none` in production)',
    description: 'serve the generated baseline when the model cannot be had ([Models](MODELS.md))',
  },
  baselinePreset: {
    variable: 'BASELINE_PRESET',
    parse: oneOf(['tiny', 'base']),
    default: 'base',
    description:
      'baseline size for the fallback: `base` (DistilBERT-base compute) or `tiny` (loads in a fraction of a second)',
  },
  onnxThreads: {
    variable: 'ONNX_THREADS',
    parse: integer(0, 256),
    default: 0,
    description: 'ONNX Runtime intra-op threads; `0` = the CPUs this process may use (cgroup limit included)',
  },
  maxBatchSize: {
    variable: 'MAX_BATCH_SIZE',
    parse: integer(1, 100_000),
    default: 1000,
    description: 'most texts in one request',
  },
  maxTextChars: {
    variable: 'MAX_TEXT_CHARS',
    parse: integer(1, 1_000_000),
    default: 10_000,
    description: 'most characters in one text',
  },
  longTextStridePercent: {
    variable: 'LONG_TEXT_STRIDE_PERCENT',
    parse: integer(0, 50),
    default: 25,
    description:
      'with `long_text: "chunk"`: the share of a window (510 tokens for DistilBERT) that consecutive windows have in common, in % ([Long texts](API.md#long-texts))',
  },
  longTextMaxWindows: {
    variable: 'LONG_TEXT_MAX_WINDOWS',
    parse: integer(1, 10_000),
    // 10,000 characters are at most about 10,000 tokens: 26 windows at the default stride.
    default: 32,
    description:
      'most windows one text may be read in with `long_text: "chunk"`; a text needing more gets 422. The default covers any text of the default `MAX_TEXT_CHARS`',
  },
  longTextMaxWindowsPerRequest: {
    variable: 'LONG_TEXT_MAX_WINDOWS_PER_REQUEST',
    parse: integer(1, 1_000_000),
    // A chunked request then costs at most as many model sequences as the largest truncated one.
    default: 1000,
    description:
      'most windows the texts of one request may need together with `long_text: "chunk"` (a text that fits the model is one); past it the request gets 413',
  },
  maxBodyBytes: {
    variable: 'MAX_BODY_BYTES',
    parse: integer(1024, 1024 * MIB),
    default: 2 * MIB,
    description: 'largest request body, in bytes',
  },
  batchMaxTokens: {
    variable: 'BATCH_MAX_TOKENS',
    // At least one text of the longest sequence DistilBERT takes (512 tokens) must fit in a call.
    parse: integer(512, 1_000_000),
    default: 1024,
    description:
      'most padded tokens (texts × longest sequence) in one model call; at least 512, DistilBERT’s longest sequence ([Batching](API.md#batching-and-overload))',
  },
  batchMaxTexts: {
    variable: 'BATCH_MAX_TEXTS',
    parse: integer(1, 4096),
    default: 32,
    description: 'most texts in one model call; concurrent requests share calls',
  },
  batchWindowMs: {
    variable: 'BATCH_WINDOW_MS',
    parse: integer(0, 1000),
    default: 5,
    description:
      'how long queued texts wait for company before their call runs anyway; the wait ends early once as many texts wait as the last call answered ([Batching](API.md#batching-and-overload))',
  },
  queueMaxTokens: {
    variable: 'QUEUE_MAX_TOKENS',
    parse: integer(512, 100_000_000),
    default: 1_000_000,
    description: 'tokens allowed to wait for the model (a memory bound); past it new requests get 503 `queue-full`',
  },
  maxConcurrentBatches: {
    variable: 'MAX_CONCURRENT_BATCHES',
    parse: integer(1, 64),
    default: 1,
    description: "model calls handed to the model worker at once (`1` leaves the cores to ONNX Runtime's own threads)",
  },
  requestTimeoutMs: {
    variable: 'REQUEST_TIMEOUT_MS',
    parse: integer(100, 600_000),
    default: 30_000,
    description:
      'per-request deadline: a request is admitted only if the cost model expects it to finish within it; past it the request gets 503 and its texts not yet started are dropped',
  },
  modelCallTimeoutMs: {
    variable: 'MODEL_CALL_TIMEOUT_MS',
    parse: integer(100, 600_000),
    default: 10_000,
    description:
      'the least time a model call gets before the watchdog counts the model worker as wedged: the call’s requests get 503 `inference-failed` and the worker is restarted (a call expected to be long gets 10 × its expected time)',
  },
  modelRestartBackoffMs: {
    variable: 'MODEL_RESTART_BACKOFF_MS',
    parse: integer(0, 600_000),
    default: 1000,
    description:
      'delay before restarting a lost model worker (crashed, wedged, failed to reload) or tokenizer worker (crashed); it doubles with each restart in a row',
  },
  modelMaxRestarts: {
    variable: 'MODEL_MAX_RESTARTS',
    parse: integer(0, 100),
    default: 5,
    description:
      'restarts in a row of the model worker without a successful model call, or of the tokenizer worker without a tokenization, after which `/health/live` answers 503, so the orchestrator replaces the pod',
  },
  shutdownDrainMs: {
    variable: 'SHUTDOWN_DRAIN_MS',
    parse: integer(0, 600_000),
    default: 5000,
    description:
      'after SIGTERM/SIGINT: how long readiness is 503 while requests are still served, before the server closes ([Shutdown](OPERATING.md#shutdown))',
  },
  shutdownInFlightMs: {
    variable: 'SHUTDOWN_IN_FLIGHT_MS',
    parse: integer(0, 600_000),
    default: 5000,
    description: 'after the drain: how long requests in flight may still take before their connections are closed',
  },
  redisUrl: {
    variable: 'REDIS_URL',
    parse: url(['redis', 'rediss']),
    default: undefined,
    documentedDefault: 'unset: in-memory cache',
    description:
      'Redis for the prediction cache and the rate limits, `redis://[user:password@]host:port[/db]` (`rediss://` for TLS); never logged ([Caching](CACHING.md))',
  },
  redisUsername: {
    variable: 'REDIS_USERNAME',
    parse: text(/^\S{1,256}$/, 'a user name without spaces'),
    default: undefined,
    documentedDefault: "unset: the URL's",
    description: "ACL user for `REDIS_URL`, instead of the URL's user ([Redis](REDIS.md#credentials))",
  },
  redisPassword: {
    variable: 'REDIS_PASSWORD',
    parse: secret(1),
    default: undefined,
    documentedDefault: "unset: the URL's",
    description: "password for `REDIS_URL`, instead of the URL's; never logged ([Redis](REDIS.md#credentials))",
    file: {
      variable: 'REDIS_PASSWORD_FILE',
      description: 'instead of `REDIS_PASSWORD`: a file holding the password, e.g. a mounted Kubernetes Secret',
    },
  },
  redisCluster: {
    variable: 'REDIS_CLUSTER',
    parse: boolean,
    default: false,
    description:
      '`true`: `REDIS_URL` names one seed node of a Redis Cluster; the client finds the others ([Redis](REDIS.md#redis-cluster))',
  },
  redisTlsCaFile: {
    variable: 'REDIS_TLS_CA_FILE',
    parse: pemFile('certificate'),
    default: undefined,
    documentedDefault: "unset: Node's CAs (with `NODE_EXTRA_CA_CERTS`)",
    description:
      "PEM bundle of the CAs a `rediss://` server's certificate must chain to, instead of Node's; used by every Redis connection ([Redis](REDIS.md#tls))",
  },
  redisTlsCertFile: {
    variable: 'REDIS_TLS_CERT_FILE',
    parse: pemFile('certificate'),
    default: undefined,
    documentedDefault: 'unset: no client certificate',
    description: 'PEM client certificate for mutual TLS on every `rediss://` connection; needs `REDIS_TLS_KEY_FILE`',
  },
  redisTlsKeyFile: {
    variable: 'REDIS_TLS_KEY_FILE',
    parse: pemFile('private key'),
    default: undefined,
    documentedDefault: 'unset',
    description: 'PEM private key of `REDIS_TLS_CERT_FILE` (unencrypted: mount it from a Secret)',
  },
  cacheTtlSeconds: {
    variable: 'CACHE_TTL_SECONDS',
    parse: integer(1, 30 * 24 * 3600),
    default: 3600,
    description: 'how long a cached prediction lives',
  },
  cacheMaxEntries: {
    variable: 'CACHE_MAX_ENTRIES',
    parse: integer(1, 10_000_000),
    default: 10_000,
    description: 'predictions the in-memory cache keeps (least recently used go first); unused with Redis',
  },
  cacheTimeoutMs: {
    variable: 'CACHE_TIMEOUT_MS',
    parse: integer(1, 10_000),
    default: 50,
    description: 'longest wait for one Redis call (cache, rate-limit count) before the request goes on without it',
  },
  cacheKeySecret: {
    variable: 'CACHE_KEY_SECRET',
    parse: secret(16),
    default: undefined,
    documentedDefault: 'unset: SHA-256 keys',
    description:
      'key texts by HMAC-SHA256, so whoever reads Redis cannot confirm a guessed text; required in production with `REDIS_URL`',
    file: {
      variable: 'CACHE_KEY_SECRET_FILE',
      description:
        'instead of `CACHE_KEY_SECRET`: a file holding the secret (surrounding whitespace ignored), e.g. a mounted Kubernetes Secret',
    },
  },
  cacheScope: {
    variable: 'CACHE_SCOPE',
    parse: oneOf(['tenant', 'shared']),
    default: 'tenant',
    description:
      '`tenant`: with API keys each key has its own cache entries, so one key cannot learn from a hit what another sent; `shared`: all keys share them ([Caching](CACHING.md#tenant-scope))',
  },
  apiKeys: {
    variable: 'API_KEYS',
    parse: keys,
    default: [],
    documentedDefault: 'unset: `/v1` open',
    description: 'the API keys; when set, every `/v1` route needs one ([Security](SECURITY.md#api-keys))',
    file: {
      variable: 'API_KEYS_FILE',
      description: 'instead of `API_KEYS`: a file with one key per line, e.g. a mounted Kubernetes Secret',
    },
  },
  allowAnonymous: {
    variable: 'ALLOW_ANONYMOUS',
    parse: boolean,
    default: false,
    description: '`true`: in production, serve `/v1` without API keys anyway (logged as a warning at start)',
  },
  metricsApiKey: {
    variable: 'METRICS_API_KEY',
    parse: key,
    default: undefined,
    documentedDefault: 'unset: `/metrics` open',
    description:
      'one key, like an API key but not one of them, that `GET /metrics` then needs ([Security](SECURITY.md#metrics-endpoint))',
    file: {
      variable: 'METRICS_API_KEY_FILE',
      description: 'instead of `METRICS_API_KEY`: a file holding the key, e.g. a mounted Kubernetes Secret',
    },
  },
  corsOrigins: {
    variable: 'CORS_ORIGINS',
    parse: origins,
    default: [],
    documentedDefault: 'unset: CORS off',
    description: 'browser origins allowed to call the API, e.g. `https://app.example.com`',
  },
  rateLimitEnabled: {
    variable: 'RATE_LIMIT_ENABLED',
    parse: boolean,
    default: true,
    description:
      'limit requests to `/v1` per API key (per client IP without keys) ([Security](SECURITY.md#rate-limits))',
  },
  rateLimitPerMinute: {
    variable: 'RATE_LIMIT_PER_MINUTE',
    parse: integer(1, 1_000_000),
    default: 600,
    description:
      'requests per minute each key (or IP) may make to `/v1`, all routes together; with `REDIS_URL` all replicas share the count',
  },
  trustProxy: {
    variable: 'TRUST_PROXY',
    parse: trustedProxies,
    default: false,
    description:
      'whose `X-Forwarded-For` sets the client IP: nobody, anybody, or your proxies; no hop count ([Security](SECURITY.md#behind-a-proxy))',
  },
  authFailuresPerMinute: {
    variable: 'AUTH_FAILURES_PER_MINUTE',
    parse: integer(1, 1_000_000),
    default: 30,
    description:
      'requests with a missing or wrong key one client IP may make per minute before it gets 429 instead of 401 ([Security](SECURITY.md#rate-limits))',
  },
  'http.requestTimeoutMs': {
    variable: 'HTTP_REQUEST_TIMEOUT_MS',
    parse: integer(0, 3_600_000),
    default: 30_000,
    description:
      'longest time to receive a whole request, headers and body (Node `requestTimeout`); then `408` and the connection is closed; `0` = none ([Security](SECURITY.md#timeouts-and-connection-limits))',
  },
  'http.headersTimeoutMs': {
    variable: 'HTTP_HEADERS_TIMEOUT_MS',
    parse: integer(1, 3_600_000),
    default: derived((setting) => Math.min(10_000, setting('http.requestTimeoutMs') || 10_000)),
    documentedDefault: '`10000` (at most the request timeout)',
    description: 'longest time to receive the headers (Node `headersTimeout`); at most `HTTP_REQUEST_TIMEOUT_MS`',
  },
  'http.connectionTimeoutMs': {
    variable: 'HTTP_CONNECTION_TIMEOUT_MS',
    parse: integer(0, 3_600_000),
    default: derived((setting) => Math.max(60_000, setting('requestTimeoutMs') + ANSWER_MARGIN_MS)),
    documentedDefault: '`60000` (at least `REQUEST_TIMEOUT_MS` + 10 s)',
    description:
      'a connection with no traffic either way for this long is closed (Fastify `connectionTimeout`); `0` = never. A request waiting for the model is silent, so it must outlast `REQUEST_TIMEOUT_MS`',
  },
  'http.keepAliveTimeoutMs': {
    variable: 'HTTP_KEEP_ALIVE_TIMEOUT_MS',
    parse: integer(1, 3_600_000),
    // Above the idle timeout of the proxies in front, so they, not we, close idle connections.
    default: 72_000,
    description: 'how long an idle keep-alive connection stays open (above the 60 s of nginx and most load balancers)',
  },
  'http.maxConnections': {
    variable: 'HTTP_MAX_CONNECTIONS',
    parse: integer(1, 1_000_000),
    default: 4096,
    description: 'open connections the server accepts at once (Node `maxConnections`); more are closed as they arrive',
  },
  'http.maxConnectionsPerIp': {
    variable: 'HTTP_MAX_CONNECTIONS_PER_IP',
    parse: integer(0, 1_000_000),
    default: 1024,
    description: 'open connections one peer address may hold; more are closed as they arrive; `0` = no per-address cap',
  },
  'jobs.redisUrl': {
    variable: 'JOBS_REDIS_URL',
    parse: url(['redis', 'rediss']),
    default: derived((setting) => setting('redisUrl')),
    documentedDefault: '`REDIS_URL`',
    description:
      "Redis for bulk jobs (job store and queue): durable, AOF and `maxmemory-policy noeviction`, which production requires; unset: the cache's Redis, for development; never logged ([Jobs](JOBS.md#where-jobs-live))",
  },
  'jobs.redisUsername': {
    variable: 'JOBS_REDIS_USERNAME',
    parse: text(/^\S{1,256}$/, 'a user name without spaces'),
    // Jobs on the cache's Redis log in as the cache does.
    default: derived((setting) => (sameRedis(setting) ? setting('redisUsername') : undefined)),
    documentedDefault: "unset: the URL's (`REDIS_USERNAME` without `JOBS_REDIS_URL`)",
    description: "ACL user for the jobs Redis, instead of its URL's user ([Redis](REDIS.md#credentials))",
  },
  'jobs.redisPassword': {
    variable: 'JOBS_REDIS_PASSWORD',
    parse: secret(1),
    default: derived((setting) => (sameRedis(setting) ? setting('redisPassword') : undefined)),
    documentedDefault: "unset: the URL's (`REDIS_PASSWORD` without `JOBS_REDIS_URL`)",
    description: "password for the jobs Redis, instead of its URL's; never logged ([Redis](REDIS.md#credentials))",
    file: {
      variable: 'JOBS_REDIS_PASSWORD_FILE',
      description: 'instead of `JOBS_REDIS_PASSWORD`: a file holding the password, e.g. a mounted Kubernetes Secret',
    },
  },
  'jobs.redisCluster': {
    variable: 'JOBS_REDIS_CLUSTER',
    parse: boolean,
    default: derived((setting) => sameRedis(setting) && setting('redisCluster')),
    documentedDefault: '`false` (`REDIS_CLUSTER` without `JOBS_REDIS_URL`)',
    description:
      "`true`: the jobs Redis's URL names one seed node of a Redis Cluster ([Redis](REDIS.md#redis-cluster))",
  },
  'jobs.maxTexts': {
    variable: 'JOB_MAX_TEXTS',
    parse: integer(1, 100_000_000),
    default: 1_000_000,
    description: 'most texts (NDJSON lines) one bulk job may hold ([Jobs](JOBS.md))',
  },
  'jobs.maxBytes': {
    variable: 'JOB_MAX_BYTES',
    parse: integer(1024, 16 * 1024 * MIB),
    default: 256 * MIB,
    description: "most bytes of one job's NDJSON body, counted while it streams in",
  },
  'jobs.chunkTexts': {
    variable: 'JOB_CHUNK_TEXTS',
    parse: integer(1, 10_000),
    default: 256,
    description: 'texts per chunk, the unit a replica takes from the job queue and retries after a crash',
  },
  'jobs.resultTtlSeconds': {
    variable: 'JOB_RESULT_TTL_SECONDS',
    parse: integer(60, 30 * 24 * 3600),
    default: 24 * 3600,
    description: "how long a job's status and results stay in Redis after its last change",
  },
  'jobs.storedBytesPerKey': {
    variable: 'JOB_STORED_BYTES_PER_KEY',
    parse: integer(4096, 64 * 1024 * MIB),
    default: 128 * MIB,
    description:
      "bytes one caller's unexpired jobs may hold in the jobs Redis (staged texts and results, reserved before they are stored); past it a submission gets 409 `job-quota-exceeded` (413 for one job larger than it) ([Jobs](JOBS.md#workflow-with-curl))",
  },
  'jobs.workerConcurrency': {
    variable: 'JOB_WORKER_CONCURRENCY',
    parse: integer(1, 64),
    default: 2,
    description: 'chunks this replica works on at once (bulk texts only fill idle model time)',
  },
};

/** Jobs use the cache's Redis: JOBS_REDIS_URL unset (or the same URL). */
function sameRedis(setting: SettingLookup): boolean {
  return setting('redisUrl') !== undefined && setting('jobs.redisUrl') === setting('redisUrl');
}

function read(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The value a definition's variable (or its file variable) holds; undefined when neither is set. */
function rawValue(env: Environment, definition: SettingDefinition<unknown>): RawValue | undefined {
  const inline = read(env, definition.variable);
  const file = definition.file && { variable: definition.file.variable, path: read(env, definition.file.variable) };
  if (file?.path === undefined)
    return inline === undefined ? undefined : { variable: definition.variable, text: inline };
  if (inline !== undefined) {
    throw new InvalidSettingError(file.variable, `unset when ${definition.variable} is set`, file.path);
  }
  try {
    return { variable: file.variable, text: readFileSync(file.path, 'utf8').trim(), file: file.path };
  } catch {
    throw new InvalidSettingError(file.variable, 'a readable file', file.path);
  }
}

/**
 * Checks between settings, after each was read on its own. Production refuses to start open by
 * accident: without API keys unless anonymous access is asked for explicitly, and with a shared
 * Redis only if cache keys are HMACs (otherwise whoever can write to Redis can plant an answer
 * under SHA-256 of a chosen text).
 */
function checkAcrossSettings(settings: Settings, source: (key: SettingKey) => string): void {
  const { http } = settings;
  // Node refuses a headers timeout above the request timeout: it could never fire.
  if (http.requestTimeoutMs > 0 && http.headersTimeoutMs > http.requestTimeoutMs) {
    throw new InvalidSettingError(
      'HTTP_HEADERS_TIMEOUT_MS',
      `at most HTTP_REQUEST_TIMEOUT_MS (${http.requestTimeoutMs})`,
      String(http.headersTimeoutMs),
    );
  }
  // A request waiting for the model is silent for up to REQUEST_TIMEOUT_MS: a shorter connection
  // timeout would cut the connection of a request the service promised to answer.
  const leastConnectionTimeout = settings.requestTimeoutMs + ANSWER_MARGIN_MS;
  if (http.connectionTimeoutMs !== 0 && http.connectionTimeoutMs < leastConnectionTimeout) {
    throw new InvalidSettingError(
      'HTTP_CONNECTION_TIMEOUT_MS',
      `0 or at least REQUEST_TIMEOUT_MS + ${ANSWER_MARGIN_MS} (${leastConnectionTimeout})`,
      String(http.connectionTimeoutMs),
    );
  }
  // Neither kind of key opens what the other guards.
  if (settings.metricsApiKey !== undefined && settings.apiKeys.includes(settings.metricsApiKey)) {
    throw new InvalidSettingError(source('metricsApiKey'), 'a key that is not also in API_KEYS', '<hidden>');
  }
  checkRedisTls(settings);
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

/**
 * A client certificate needs its key and the other way round; TLS files with no `rediss://` URL to
 * use them are refused, not ignored: the operator believes the connection is encrypted, and it
 * would carry the password in clear.
 */
function checkRedisTls(settings: Settings): void {
  const { redisTlsCaFile: ca, redisTlsCertFile: cert, redisTlsKeyFile: key } = settings;
  if ((cert === undefined) !== (key === undefined)) {
    const [missing, set] =
      cert === undefined
        ? ['REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE']
        : ['REDIS_TLS_KEY_FILE', 'REDIS_TLS_CERT_FILE'];
    throw new InvalidSettingError(missing, `set when ${set} is set (a client certificate and its key)`, '');
  }
  const [variable, path] = ca !== undefined ? ['REDIS_TLS_CA_FILE', ca] : ['REDIS_TLS_CERT_FILE', cert];
  const urls = [settings.redisUrl, settings.jobs.redisUrl];
  if (path !== undefined && !urls.some((url) => url?.startsWith('rediss://'))) {
    throw new InvalidSettingError(
      variable,
      'unset unless REDIS_URL or JOBS_REDIS_URL is a rediss:// URL (TLS files are used by rediss:// connections only)',
      path,
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

function defaultOf<T>(definition: SettingDefinition<T>, setting: SettingLookup): T {
  const fallback = definition.default;
  return fallback instanceof DerivedDefault ? fallback.compute(setting) : fallback;
}

export function loadSettings(env: Environment = process.env): Settings {
  const values = new Map<SettingKey, unknown>();
  const sources = new Map<SettingKey, string>();
  // Read on first use, so a default that follows another setting can read it in any order.
  const setting = <K extends SettingKey>(key: K): FlatSettings[K] => {
    if (!values.has(key)) {
      // TypeScript cannot correlate a mapped type's entry with its key's value type (microsoft/TypeScript#30581).
      const definition = SETTING_DEFINITIONS[key] as SettingDefinition<FlatSettings[K]>;
      const raw = rawValue(env, definition);
      sources.set(key, raw?.variable ?? definition.variable);
      values.set(key, raw !== undefined ? definition.parse(raw) : defaultOf(definition, setting));
    }
    return values.get(key) as FlatSettings[K];
  };
  const top: Record<string, unknown> = {};
  const http: Record<string, unknown> = {};
  const jobs: Record<string, unknown> = {};
  for (const key of Object.keys(SETTING_DEFINITIONS) as SettingKey[]) {
    const value = setting(key);
    if (key.startsWith('http.')) http[key.slice('http.'.length)] = value;
    else if (key.startsWith('jobs.')) jobs[key.slice('jobs.'.length)] = value;
    else top[key] = value;
  }
  // Complete: SettingDefinitions has one entry per field of Settings, HttpServerLimits and JobSettings.
  const settings = { ...top, http, jobs } as unknown as Settings;
  checkAcrossSettings(settings, (key) => sources.get(key) ?? SETTING_DEFINITIONS[key].variable);
  return settings;
}
