import { BERT_SPECIAL_TOKENS, WORDPIECE_SUBWORD_PREFIX } from './bert-vocabulary.js';

const tokenId = (token: string): number => {
  const special = BERT_SPECIAL_TOKENS.find((entry) => entry.token === token);
  if (!special) throw new Error(`${token} is not a BERT special token`);
  return special.id;
};

/** `tokenizer.json` in the Hugging Face tokenizers format, configured like bert-base-uncased's. */
export function buildTokenizerJson(vocabulary: readonly string[]): object {
  const special = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: BERT_SPECIAL_TOKENS.map(({ token, id }) => ({
      id,
      content: token,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: Object.fromEntries(
        ['[CLS]', '[SEP]'].map((token) => [token, { id: token, ids: [tokenId(token)], tokens: [token] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: WORDPIECE_SUBWORD_PREFIX, cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: WORDPIECE_SUBWORD_PREFIX,
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocabulary.map((token, id) => [token, id])),
    },
  };
}

/** `tokenizer_config.json`; transformers.js picks the tokenizer class from `tokenizer_class`. */
export function buildTokenizerConfig(modelMaxLength: number): object {
  return {
    tokenizer_class: 'DistilBertTokenizer',
    do_lower_case: true,
    tokenize_chinese_chars: true,
    strip_accents: null,
    clean_up_tokenization_spaces: true,
    model_max_length: modelMaxLength,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
    added_tokens_decoder: Object.fromEntries(
      BERT_SPECIAL_TOKENS.map(({ token, id }) => [
        String(id),
        { content: token, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
      ]),
    ),
  };
}
