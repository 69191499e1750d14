import { cacheableTexts } from '../../src/cache/cacheable-texts.js';

const LIMITS = { maxBatchSize: 3, maxTextChars: 5 };

describe('cacheableTexts (what the cache may answer before the validation pipe ran)', () => {
  it('returns the texts of a body the pipe would accept', () => {
    expect(cacheableTexts({ text: ['a', '', 'abcde'] }, LIMITS)).toEqual(['a', '', 'abcde']);
    // Five characters, ten UTF-16 units: counted as the pipe counts them.
    expect(cacheableTexts({ text: ['😀😀😀😀😀'] }, LIMITS)).toEqual(['😀😀😀😀😀']);
  });

  it.each([
    ['no body', undefined],
    ['a string', 'text'],
    ['an array', ['a']],
    ['no text field', {}],
    ['an unknown field', { text: ['a'], mood: 'x' }],
    ['text not an array', { text: 'a' }],
    ['an empty array', { text: [] }],
    ['too many texts', { text: ['a', 'b', 'c', 'd'] }],
    ['a non-string', { text: ['a', 1] }],
    ['a null', { text: [null] }],
    ['a text too long', { text: ['abcdef'] }],
  ])('leaves %s to the pipe', (_case, body) => {
    expect(cacheableTexts(body, LIMITS)).toBeUndefined();
  });
});
