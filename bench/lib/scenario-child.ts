// Child process of the benchmark: the scenarios that are a few hand-timed requests rather than a
// steady load (input JSON in argv[2], result JSON on the last stdout line), in their own process
// like the autocannon loads:
// - burst: concurrent small requests at once on an idle service;
// - fairness: one request of many ~512-token texts while another client sends one-text requests
//   one at a time, until the long one is answered;
// - worst input: one body of 512-token texts as large as the service accepts (MAX_BODY_BYTES).
import { PayloadGenerator } from '../../k6/lib/payload.js';
import { PREDICT_PATH } from './http-load.js';
import type { LoadSummary } from './load-summary.js';
import { summarize, type LatencySummary } from './stats.js';
import { randomText, seededRandom } from './texts.js';
import { loadTokenCounter, type TokenizerLocation } from './token-count.js';

/** Texts per request of the burst: 20 requests of 1–7 texts, 40 texts in all. */
const BURST_SIZES = [7, 1, 3, 1, 5, 1, 2, 1, 4, 1, 2, 1, 3, 1, 2, 1, 1, 1, 1, 1];
/** Words of a long text: each word is one token, so 510 words + [CLS]/[SEP] = the model's 512. */
const LONG_TEXT_WORDS = 510;
const LONG_TEXT_SEED = 512;
/** The one-text client starts once the long request is on its way. */
const SHORT_CLIENT_DELAY_MS = 200;
/**
 * The one-text client starts a request at most this often: it measures latency, not throughput, and
 * must not flood a service that refuses at once (nor spin when requests fail without an answer).
 */
const SHORT_CLIENT_INTERVAL_MS = 100;

export type ScenarioInput = { baseUrl: string } & (
  | { kind: 'burst' }
  | { kind: 'fairness'; longTexts: number; limitSeconds: number; tokenizer: TokenizerLocation }
  | { kind: 'worst-input'; maxBodyBytes: number; maxTexts: number; limitSeconds: number; tokenizer: TokenizerLocation }
);

/** One request's outcome; status 0 = no answer within the limit (or a connection error: `error`). */
export interface RequestOutcome {
  status: number;
  ms: number;
  texts: number;
  bytes: number;
  error?: string;
}

export type Requests = Pick<LoadSummary, 'statuses' | 'noAnswer' | 'servedShare'> & {
  requests: number;
  latency: LatencySummary;
  /** Why the first unanswered request got no answer. */
  firstError?: string;
};

export interface BurstResult {
  kind: 'burst';
  texts: number;
  requests: Requests;
}

export interface LongTexts {
  texts: number;
  bytes: number;
  /** Tokens per text as the model's tokenizer counts them (truncated to its maximum). */
  tokensMin: number;
  tokensMax: number;
}

export interface FairnessResult {
  kind: 'fairness';
  long: LongTexts & { outcome: RequestOutcome };
  /** The one-text requests sent while the long one was in flight. */
  oneText: Requests;
}

export interface WorstInputResult {
  kind: 'worst-input';
  long: LongTexts & { outcome: RequestOutcome };
}

export type ScenarioResult = BurstResult | FairnessResult | WorstInputResult;

async function post(baseUrl: string, texts: string[], limitSeconds: number): Promise<RequestOutcome> {
  const body = JSON.stringify({ text: texts });
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}${PREDICT_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(Math.max(1, Math.ceil(limitSeconds * 1000))),
    });
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - started, texts: texts.length, bytes: body.length };
  } catch (error) {
    const ms = performance.now() - started;
    return { status: 0, ms, texts: texts.length, bytes: body.length, error: String((error as Error).cause ?? error) };
  }
}

function tally(outcomes: readonly RequestOutcome[]): Requests {
  const statuses: Record<string, number> = {};
  for (const { status } of outcomes) if (status !== 0) statuses[status] = (statuses[status] ?? 0) + 1;
  const served = outcomes.filter((outcome) => outcome.status === 200).length;
  return {
    statuses,
    noAnswer: outcomes.filter((outcome) => outcome.status === 0).length,
    requests: outcomes.length,
    servedShare: outcomes.length === 0 ? 0 : served / outcomes.length,
    latency: summarize(outcomes.map((outcome) => outcome.ms)),
    ...(outcomes.some((outcome) => outcome.error)
      ? { firstError: outcomes.find((outcome) => outcome.error)?.error }
      : {}),
  };
}

/** `count` long texts, or fewer: as many as keep the JSON body within `maxBodyBytes`. */
async function longTexts(count: number, tokenizer: TokenizerLocation, maxBodyBytes = Infinity) {
  const random = seededRandom(LONG_TEXT_SEED);
  const texts: string[] = [];
  let bodyBytes = JSON.stringify({ text: [] }).length;
  while (texts.length < count) {
    const text = randomText(random, LONG_TEXT_WORDS);
    const added = JSON.stringify(text).length + (texts.length > 0 ? 1 : 0);
    if (texts.length > 0 && bodyBytes + added > maxBodyBytes) break;
    texts.push(text);
    bodyBytes += added;
  }
  const tokens = (await loadTokenCounter(tokenizer))(texts);
  return { texts, tokensMin: Math.min(...tokens), tokensMax: Math.max(...tokens) };
}

async function burst(baseUrl: string): Promise<BurstResult> {
  const payload = new PayloadGenerator({ batchSize: 1, cacheHitRatio: 0, poolSize: 1 });
  const bodies = BURST_SIZES.map((size) => Array.from({ length: size }, () => payload.body().text[0]));
  const outcomes = await Promise.all(bodies.map((texts) => post(baseUrl, texts, 60)));
  return { kind: 'burst', texts: bodies.flat().length, requests: tally(outcomes) };
}

async function fairness(input: Extract<ScenarioInput, { kind: 'fairness' }>): Promise<FairnessResult> {
  const { texts, tokensMin, tokensMax } = await longTexts(input.longTexts, input.tokenizer);
  const started = performance.now();
  let longDone = false;
  const long = post(input.baseUrl, texts, input.limitSeconds).finally(() => (longDone = true));
  await new Promise((resolve) => setTimeout(resolve, SHORT_CLIENT_DELAY_MS));
  const payload = new PayloadGenerator({ batchSize: 1, cacheHitRatio: 0, poolSize: 1 });
  const oneText: RequestOutcome[] = [];
  const remaining = () => input.limitSeconds - (performance.now() - started) / 1000;
  while (!longDone && remaining() > 0) {
    const next = new Promise((resolve) => setTimeout(resolve, SHORT_CLIENT_INTERVAL_MS));
    oneText.push(await post(input.baseUrl, payload.body().text, remaining()));
    await next;
  }
  const outcome = await long;
  return {
    kind: 'fairness',
    long: { texts: texts.length, bytes: outcome.bytes, tokensMin, tokensMax, outcome },
    oneText: tally(oneText),
  };
}

async function worstInput(input: Extract<ScenarioInput, { kind: 'worst-input' }>): Promise<WorstInputResult> {
  const { texts, tokensMin, tokensMax } = await longTexts(input.maxTexts, input.tokenizer, input.maxBodyBytes);
  const outcome = await post(input.baseUrl, texts, input.limitSeconds);
  return { kind: 'worst-input', long: { texts: texts.length, bytes: outcome.bytes, tokensMin, tokensMax, outcome } };
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as ScenarioInput;
  const result: ScenarioResult =
    input.kind === 'burst'
      ? await burst(input.baseUrl)
      : input.kind === 'fairness'
        ? await fairness(input)
        : await worstInput(input);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
