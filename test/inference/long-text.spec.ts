import { TooManyRequestWindowsError, TooManyWindowsError } from '../../src/common/too-many-windows-error.js';
import { truncatedTextKey, windowKey } from '../../src/inference/in-flight-keys.js';
import { aggregateWindows, checkWindowLimits } from '../../src/inference/long-text.js';
import { strideTokens, windowStarts } from '../../src/model/token-windows.js';

describe('windows of a long text', () => {
  it('are one window when the text fits, however long the stride', () => {
    expect(windowStarts(0, 510, 127)).toEqual([0]);
    expect(windowStarts(510, 510, 127)).toEqual([0]);
    expect(windowStarts(510, 510, 0)).toEqual([0]);
  });

  it('step by the window less the stride, the last one reaching the end', () => {
    // 511 tokens: the second window holds the last token with the 127 before it.
    expect(windowStarts(511, 510, 127)).toEqual([0, 383]);
    expect(windowStarts(893, 510, 127)).toEqual([0, 383]);
    expect(windowStarts(894, 510, 127)).toEqual([0, 383, 766]);
    // No overlap: windows side by side.
    expect(windowStarts(1020, 510, 0)).toEqual([0, 510]);
    for (const [content, size, stride] of [
      [511, 510, 127],
      [7000, 510, 127],
      [10_000, 510, 255],
      [1234, 100, 50],
    ]) {
      const starts = windowStarts(content, size, stride);
      const last = starts[starts.length - 1];
      expect(last + size).toBeGreaterThanOrEqual(content); // the end is covered
      expect(last).toBeLessThan(content - stride); // and the last window holds tokens of its own
      starts.slice(1).forEach((start, i) => expect(start - starts[i]).toBe(size - stride));
    }
  });

  it('share a quarter of a 510-token window by default (25 %), rounded down', () => {
    expect(strideTokens(510, 25)).toBe(127);
    expect(strideTokens(510, 0)).toBe(0);
    expect(strideTokens(510, 50)).toBe(255);
  });

  it('cover a text of the default MAX_TEXT_CHARS (at most 10,000 tokens) within the default 32 windows', () => {
    expect(windowStarts(10_000, 510, strideTokens(510, 25))).toHaveLength(26);
  });
});

describe('aggregateWindows', () => {
  it('returns a single window’s logits as they are (the same bytes as truncate)', () => {
    const row = [0.1 + 0.2, -0.30000000000000004];
    expect(aggregateWindows([row], [512])).toBe(row);
  });

  it('is the mean of the windows’ logits weighted by their length in tokens', () => {
    const combined = aggregateWindows(
      [
        [0, 0],
        [2, -2],
      ],
      [512, 256],
    );
    expect(combined[0]).toBeCloseTo((0 * 512 + 2 * 256) / 768, 15);
    expect(combined[1]).toBeCloseTo((0 * 512 - 2 * 256) / 768, 15);
  });
});

describe('checkWindowLimits', () => {
  const limits = { stridePercent: 25, maxWindowsPerText: 4, maxWindowsPerRequest: 10 };
  const refusal = (windowCounts: number[]): unknown => {
    try {
      checkWindowLimits(windowCounts, limits);
    } catch (error) {
      return error;
    }
    throw new Error('not refused');
  };

  it('lets texts within both limits through', () => {
    expect(() => checkWindowLimits([4, 4, 2], limits)).not.toThrow();
    expect(() => checkWindowLimits([4, 4, 4], { ...limits, maxWindowsPerRequest: undefined })).not.toThrow();
  });

  it('names every text over the per-text limit with its count, before counting the request', () => {
    const error = refusal([5, 1, 7]);
    expect(error).toBeInstanceOf(TooManyWindowsError);
    expect(error).toMatchObject({
      texts: [
        { index: 0, windows: 5 },
        { index: 2, windows: 7 },
      ],
      limit: 4,
    });
  });

  it('refuses texts that together need more than the per-request limit, with the total', () => {
    const error = refusal([4, 4, 3]);
    expect(error).toBeInstanceOf(TooManyRequestWindowsError);
    expect(error).toMatchObject({ windows: 11, limit: 10 });
  });
});

describe('windowKey', () => {
  it('tells windows apart by position, stride and scope, and never matches a truncated text’s key', () => {
    const keys = [
      windowKey('', 25, 0, 'text'),
      windowKey('', 25, 1, 'text'),
      windowKey('', 30, 0, 'text'),
      windowKey('tenant', 25, 0, 'text'),
      windowKey('', 25, 0, 'text2'),
      truncatedTextKey('', 'right', 'text'),
      truncatedTextKey('', 'left', 'text'),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});
