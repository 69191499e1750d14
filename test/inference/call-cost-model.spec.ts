import { CallCostModel, DEFAULT_CALL_COST_PRIOR } from '../../src/inference/call-cost-model.js';

describe('CallCostModel', () => {
  it('starts from the prior', () => {
    const model = new CallCostModel();
    expect(model.current).toEqual(DEFAULT_CALL_COST_PRIOR);
  });

  it('learns the machine from observed calls of varied shapes', () => {
    const model = new CallCostModel();
    const truth = (texts: number, length: number) =>
      0.005 + (0.9 * texts * length) / 1e3 + (0.3 * texts * length * length) / 1e6;
    for (let i = 0; i < 200; i++) {
      const texts = 1 + (i % 32);
      const length = 8 + ((i * 37) % 500);
      model.observe({ texts, paddedLength: length }, truth(texts, length));
    }
    expect(model.seconds({ texts: 4, paddedLength: 512 })).toBeCloseTo(truth(4, 512), 2);
    expect(model.seconds({ texts: 32, paddedLength: 16 })).toBeCloseTo(truth(32, 16), 2);
  });

  it('stays near the prior in directions one repeated shape cannot inform, and never goes negative', () => {
    const model = new CallCostModel();
    for (let i = 0; i < 300; i++) model.observe({ texts: 1, paddedLength: 12 }, 0.03);
    expect(model.seconds({ texts: 1, paddedLength: 12 })).toBeCloseTo(0.03, 2);
    const { fixed, perKiloToken, perMegaTokenLength } = model.current;
    expect(Math.min(fixed, perKiloToken, perMegaTokenLength)).toBeGreaterThanOrEqual(0);
    // A long call is still predicted to cost more than a short one.
    expect(model.seconds({ texts: 4, paddedLength: 512 })).toBeGreaterThan(0.5);
  });
});
