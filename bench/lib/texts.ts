// Texts of controlled length for the benchmark's workloads, reproducible from a seed. Words come
// from the k6 payload generator's sentence slots (k6/lib/payload.ts), each one WordPiece token of
// BERT's uncased vocabulary, so a text of n words is n + 2 tokens with [CLS] and [SEP]; the harness
// still counts tokens with the model's tokenizer (bench/lib/token-count.ts) rather than trust that.
import { SENTENCE_SPACE, sentence } from '../../k6/lib/payload.js';

/** Sentence number whose every slot digit is `i`: sentence() then uses the i-th word of each slot. */
const SLOT_DIGITS = Array.from({ length: 6 }, (_, digit) => 32 ** digit).reduce((sum, value) => sum + value, 0);

/** Every word payload.ts's sentences use (its six 32-word slots and the joining words). */
export const VOCABULARY: readonly string[] = [
  ...new Set(Array.from({ length: 32 }, (_, i) => sentence((i * SLOT_DIGITS) % SENTENCE_SPACE).split(' ')).flat()),
];

/** mulberry32: a small seeded PRNG, so a workload is the same texts in every process and run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `words` random vocabulary words. */
export function randomText(random: () => number, words: number): string {
  return Array.from({ length: words }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]).join(' ');
}

/** Requests of texts whose lengths spread like real reviews: log-uniform between two word counts. */
export interface MixedLengthOptions {
  textsPerRequest: number;
  minWords: number;
  maxWords: number;
  seed: number;
}

export const MIXED_LENGTHS: Omit<MixedLengthOptions, 'seed'> = { textsPerRequest: 4, minWords: 3, maxWords: 400 };

/**
 * The seeded sequence of mixed-length texts: the load child sends them in this order and the engine
 * child times the first ones, so both see the same texts. Random words make repeats (cache hits)
 * vanishingly rare even for the shortest texts.
 */
export class MixedLengthGenerator {
  private readonly random: () => number;

  constructor(readonly options: MixedLengthOptions) {
    if (!(options.minWords >= 1 && options.maxWords >= options.minWords && options.textsPerRequest >= 1)) {
      throw new Error(
        `mixed lengths need 1 ≤ minWords ≤ maxWords and textsPerRequest ≥ 1 (got ${JSON.stringify(options)})`,
      );
    }
    this.random = seededRandom(options.seed);
  }

  text(): string {
    const { minWords, maxWords } = this.options;
    const words = Math.round(Math.exp(Math.log(minWords) + this.random() * (Math.log(maxWords) - Math.log(minWords))));
    return randomText(this.random, words);
  }

  texts(count: number): string[] {
    return Array.from({ length: count }, () => this.text());
  }

  body(): { text: string[] } {
    return { text: this.texts(this.options.textsPerRequest) };
  }
}

export function isMixedLength(options: object): options is MixedLengthOptions {
  return 'seed' in options;
}
