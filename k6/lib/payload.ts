// Request bodies for POST /v1/sentiment/predict, shared by the k6 scenarios, the autocannon
// smoke runner (bench/load-smoke.ts) and the benchmark harness. Plain TypeScript without
// imports, so k6 and Node load the very same file.

export interface PayloadOptions {
  /** Texts in each request. */
  batchSize: number;
  /** Share of texts drawn from the repeated pool (cache hits once seen), the rest unique. */
  cacheHitRatio: number;
  /** Distinct texts in the repeated pool. */
  poolSize: number;
}

export interface PredictBody {
  text: string[];
}

export const DEFAULT_PAYLOAD: PayloadOptions = { batchSize: 1, cacheHitRatio: 0.5, poolSize: 100 };

// 32 words per slot, each one WordPiece token of BERT's uncased vocabulary, so every sentence is
// 11 words = 13 tokens with [CLS] and [SEP]: the short-review size the benchmarks are quoted for.
const ADJECTIVES = (
  'good great bad awful nice poor fine excellent terrible boring brilliant wonderful horrible pleasant dull ' +
  'amazing lovely weak strong perfect sad happy funny fresh cheap slow fast clean dirty quiet loud warm'
).split(' ');
const NOUNS = (
  'movie film book food service hotel room staff team game show story music song plot cast meal coffee ' +
  'phone car trip class teacher app price view city park party event store shop'
).split(' ');
const ADVERBS = (
  'very really quite so too rather fairly pretty truly simply always never often still just almost totally ' +
  'mostly slightly extremely incredibly somewhat oddly clearly highly deeply largely nearly barely hardly utterly fully'
).split(' ');

const SLOT_WORDS = [ADJECTIVES, NOUNS, ADVERBS, ADJECTIVES, NOUNS, ADJECTIVES];
/** Distinct sentences: 32^6 ≈ 1.07e9. */
export const SENTENCE_SPACE = SLOT_WORDS.reduce((space, words) => space * words.length, 1);
/** Pool sentences are spread over the space so they do not share words with their neighbours. */
const POOL_STRIDE = 7_919_993;

/** The sentence numbered `n` (taken modulo SENTENCE_SPACE); distinct numbers give distinct sentences. */
export function sentence(n: number): string {
  let rest = ((n % SENTENCE_SPACE) + SENTENCE_SPACE) % SENTENCE_SPACE;
  const words = SLOT_WORDS.map((slot) => {
    const word = slot[rest % slot.length];
    rest = Math.floor(rest / slot.length);
    return word;
  });
  const [adjective, noun, adverb, adjective2, noun2, adjective3] = words;
  return `the ${adjective} ${noun} was ${adverb} ${adjective2} and the ${noun2} felt ${adjective3}`;
}

/** The i-th text of the repeated pool. */
export function poolText(i: number): string {
  return sentence(i * POOL_STRIDE);
}

export function checkPayloadOptions(options: PayloadOptions): PayloadOptions {
  const { batchSize, cacheHitRatio, poolSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch size must be an integer ≥ 1 (got ${batchSize})`);
  if (!(cacheHitRatio >= 0 && cacheHitRatio <= 1)) {
    throw new Error(`cache-hit ratio must be from 0 to 1 (got ${cacheHitRatio})`);
  }
  if (!Number.isInteger(poolSize) || poolSize < 1)
    throw new Error(`pool size must be an integer ≥ 1 (got ${poolSize})`);
  return options;
}

/**
 * Makes request bodies: each text comes from the pool with probability `cacheHitRatio`,
 * otherwise it is a sentence this generator has not produced before. Unique sentences are
 * numbered from a random start, so separate processes (or k6 VUs) rarely repeat each other.
 */
export class PayloadGenerator {
  private next = 0;

  constructor(
    readonly options: PayloadOptions,
    private readonly random: () => number = Math.random,
  ) {
    checkPayloadOptions(options);
    this.next = Math.floor(random() * SENTENCE_SPACE);
  }

  body(): PredictBody {
    const text: string[] = [];
    for (let i = 0; i < this.options.batchSize; i++) text.push(this.text());
    return { text };
  }

  /** Every text of the pool once, e.g. to warm a cache before measuring hits. */
  pool(): string[] {
    return Array.from({ length: this.options.poolSize }, (_, i) => poolText(i));
  }

  private text(): string {
    if (this.options.cacheHitRatio > 0 && this.random() < this.options.cacheHitRatio) {
      return poolText(Math.floor(this.random() * this.options.poolSize));
    }
    return sentence(this.next++);
  }
}
