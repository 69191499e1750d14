import autocannon from 'autocannon';
import { predictChecks } from '../../k6/lib/checks.js';
import { PayloadGenerator, type PayloadOptions } from '../../k6/lib/payload.js';
import { isMixedLength, MixedLengthGenerator, type MixedLengthOptions } from './texts.js';

export const PREDICT_PATH = '/v1/sentiment/predict';
/** Paced load is split into this many autocannon instances started evenly across one second. */
const PACING_PHASES = 20;

export interface LoadSpec {
  baseUrl: string;
  durationSeconds: number;
  /** Requests in flight at most (autocannon connections; k6 VUs). */
  connections: number;
  /**
   * Requests per second over all connections. Without it, every connection sends its next
   * request as soon as the previous one is answered (closed loop: measures the maximum).
   */
  rate?: number;
  /** The k6 payload generator's options, or texts of mixed lengths. */
  payload: PayloadOptions | MixedLengthOptions;
  /** Route to POST to: the service's by default; the FastAPI original's is `/project/bulk-predict`. */
  path?: string;
  /**
   * GET this path instead of posting predict bodies (`payload` unused): the framework's floor,
   * `/health/live`, a route through the same server, hooks and headers with no work of its own.
   */
  get?: string;
  /** Keep the texts of every 200 answer (LoadSamples.servedTexts), to count their tokens afterwards. */
  keepServedTexts?: boolean;
  /** Count 503 as the expected answer (overload scenarios), as the k6 scripts do. */
  allowShedding: boolean;
  timeoutSeconds?: number;
}

export interface ResponseSample {
  status: number;
  ms: number;
  texts: number;
}

export interface LoadSamples {
  responses: ResponseSample[];
  /** Requests that got no response: connection errors and timeouts. */
  errors: number;
  checksPassed: number;
  checksFailed: number;
  /** Seconds under load (the start offsets of paced parts excluded). */
  elapsedSeconds: number;
  /** The texts of the requests answered 200, when the spec asked to keep them. */
  servedTexts?: string[];
}

interface Part {
  delayMs: number;
  connections: number;
  rate?: number;
}

/** `total` split into `parts` integers that differ by at most one. */
function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

/**
 * autocannon sends a connection's whole per-second quota back to back at the start of each
 * second, and all instances' seconds start together; staggering several instances across the
 * second turns that into small bursts every 1000/PACING_PHASES ms, close to a steady arrival rate.
 */
function plan(spec: LoadSpec): Part[] {
  if (spec.rate === undefined) return [{ delayMs: 0, connections: spec.connections }];
  const rate = Math.max(1, Math.round(spec.rate));
  const parts = Math.max(1, Math.min(PACING_PHASES, rate, spec.connections));
  return Array.from({ length: parts }, (_, i) => ({
    delayMs: (i * 1000) / parts,
    connections: share(spec.connections, parts, i),
    rate: share(rate, parts, i),
  }));
}

interface BodyGenerator {
  body(): { text: string[] };
}

function bodyGenerator(options: PayloadOptions | MixedLengthOptions): BodyGenerator {
  return isMixedLength(options) ? new MixedLengthGenerator(options) : new PayloadGenerator(options);
}

/** Loads POST /v1/sentiment/predict (or spec.path) with generated bodies and records every answer. */
export async function runLoad(spec: LoadSpec): Promise<LoadSamples> {
  const payload = spec.get === undefined ? bodyGenerator(spec.payload) : undefined;
  const samples: LoadSamples = {
    responses: [],
    errors: 0,
    checksPassed: 0,
    checksFailed: 0,
    elapsedSeconds: 0,
    ...(spec.keepServedTexts ? { servedTexts: [] } : {}),
  };
  const parts = plan(spec);
  const started = performance.now();
  await Promise.all(
    parts.map(async (part) => {
      await new Promise((resolve) => setTimeout(resolve, part.delayMs));
      await runPart(spec, part, payload, samples);
    }),
  );
  // Staggered parts each load for the full duration: the stagger is not load time.
  const stagger = Math.max(...parts.map((part) => part.delayMs));
  samples.elapsedSeconds = (performance.now() - started - stagger) / 1000;
  return samples;
}

interface RequestContext {
  texts?: string[];
}

/** The request autocannon repeats: a predict body from the generator, or the floor's GET. */
function requestOf(
  spec: LoadSpec,
  payload: BodyGenerator | undefined,
  samples: LoadSamples,
  answered: (texts: string[]) => void,
) {
  const count = (checks: Record<string, boolean>) => {
    for (const passed of Object.values(checks)) {
      if (passed) samples.checksPassed++;
      else samples.checksFailed++;
    }
  };
  if (payload === undefined) {
    return {
      method: 'GET' as const,
      path: spec.get,
      onResponse: (status: number) => {
        answered([]);
        count({ 'status is 200': status === 200 });
      },
    };
  }
  return {
    method: 'POST' as const,
    path: spec.path ?? PREDICT_PATH,
    headers: { 'content-type': 'application/json' },
    setupRequest: (request: autocannon.Request, context: RequestContext) => {
      const body = payload.body();
      context.texts = body.text;
      return { ...request, body: JSON.stringify(body) };
    },
    onResponse: (status: number, body: string, context: RequestContext) => {
      const texts = context.texts ?? [];
      answered(texts);
      count(predictChecks(status, body, texts.length, { allowShedding: spec.allowShedding }));
    },
  };
}

function runPart(spec: LoadSpec, part: Part, payload: BodyGenerator | undefined, samples: LoadSamples): Promise<void> {
  // autocannon calls onResponse and then emits 'response' synchronously for the same answer.
  let answered: string[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.baseUrl,
        connections: part.connections,
        overallRate: part.rate,
        duration: spec.durationSeconds,
        timeout: spec.timeoutSeconds ?? 10,
        requests: [requestOf(spec, payload, samples, (texts) => (answered = texts))],
      },
      (error: Error | null) => (error ? reject(error) : resolve()),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      samples.responses.push({ status, ms, texts: answered.length });
      if (status === 200) samples.servedTexts?.push(...answered);
    });
    instance.on('reqError', () => samples.errors++);
  });
}
