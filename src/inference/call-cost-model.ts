/** The shape of one model call: how many texts, padded to which length. */
export interface CallShape {
  texts: number;
  /** Longest sequence in the call, in tokens: every text is padded to it. */
  paddedLength: number;
}

/**
 * Seconds per call = fixed + perToken × (texts × length) + perTokenLength × (texts × length²): a
 * fixed cost per call (dispatch, small-matrix inefficiency), the dense layers' cost per padded
 * token, and attention's cost growing with the square of the padded length. Coefficients in
 * seconds, per 1,000 padded tokens and per 1,000,000 token·length, so all three are of one scale.
 */
export interface CallCost {
  fixed: number;
  perKiloToken: number;
  perMegaTokenLength: number;
}

/**
 * DistilBERT-base fp32 on two cores of a current x86 server: ~25 ms for one 12-token text,
 * ~220 ms for 32 × 16 tokens, ~0.25 s per 512-token text. Only a starting point: the service
 * replaces it with what it measures within its first calls.
 */
export const DEFAULT_CALL_COST_PRIOR: CallCost = { fixed: 0.02, perKiloToken: 0.42, perMegaTokenLength: 0.1 };

/** What the scheduler asks of a cost model (tests give it fixed costs). */
export interface CostEstimator {
  readonly current: CallCost;
  seconds(shape: CallShape): number;
  observe(shape: CallShape, seconds: number): void;
}

/** Calls remembered for the fit; older ones age out, so the model follows the machine. */
const WINDOW = 256;
/**
 * Weight of the prior (ridge strength): small, so a few calls of a machine ten times faster or
 * slower than the prior's win at once, yet with calls all of one shape (which cannot tell the
 * three coefficients apart) the fit stays near the prior in the directions they do not inform.
 */
const PRIOR_WEIGHT = 0.02;

function features({ texts, paddedLength }: CallShape): [number, number, number] {
  const tokens = texts * paddedLength;
  return [1, tokens / 1e3, (tokens * paddedLength) / 1e6];
}

/**
 * Model-call time as a function of (texts, padded length), fitted online from the calls the
 * service makes: ridge regression towards the prior over the last WINDOW calls. Written here
 * rather than taken from a library because it is three coefficients and a 3 × 3 solve.
 */
export class CallCostModel implements CostEstimator {
  private readonly observed: { x: [number, number, number]; seconds: number }[] = [];
  private coefficients: CallCost;

  constructor(private readonly prior: CallCost = DEFAULT_CALL_COST_PRIOR) {
    this.coefficients = { ...prior };
  }

  get current(): CallCost {
    return { ...this.coefficients };
  }

  /** Expected seconds for one call of this shape. */
  seconds(shape: CallShape): number {
    if (shape.texts === 0) return 0;
    const [one, kiloTokens, megaTokenLength] = features(shape);
    const { fixed, perKiloToken, perMegaTokenLength } = this.coefficients;
    return fixed * one + perKiloToken * kiloTokens + perMegaTokenLength * megaTokenLength;
  }

  /** Records a finished call and refits. */
  observe(shape: CallShape, seconds: number): void {
    if (shape.texts === 0 || !Number.isFinite(seconds) || seconds < 0) return;
    this.observed.push({ x: features(shape), seconds });
    if (this.observed.length > WINDOW) this.observed.shift();
    this.refit();
  }

  private refit(): void {
    // Normal equations of ridge regression towards the prior: (XᵀX + λI) θ = Xᵀy + λ θ₀.
    const p = this.prior;
    const theta0 = [p.fixed, p.perKiloToken, p.perMegaTokenLength];
    const a = [
      [PRIOR_WEIGHT, 0, 0],
      [0, PRIOR_WEIGHT, 0],
      [0, 0, PRIOR_WEIGHT],
    ];
    const b = theta0.map((value) => PRIOR_WEIGHT * value);
    for (const { x, seconds } of this.observed) {
      for (let i = 0; i < 3; i++) {
        b[i] += x[i] * seconds;
        for (let j = 0; j < 3; j++) a[i][j] += x[i] * x[j];
      }
    }
    const solved = solve3(a, b);
    if (!solved) return;
    // A cost is never negative; a negative coefficient only fits noise.
    const [fixed, perKiloToken, perMegaTokenLength] = solved.map((value) => Math.max(0, value));
    this.coefficients = { fixed, perKiloToken, perMegaTokenLength };
  }
}

/** Gaussian elimination with partial pivoting; undefined when singular. */
function solve3(matrix: number[][], vector: number[]): number[] | undefined {
  const m = matrix.map((row, i) => [...row, vector[i]]);
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let row = col + 1; row < 3; row++) if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) pivot = row;
    if (Math.abs(m[pivot][col]) < 1e-12) return undefined;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let row = 0; row < 3; row++) {
      if (row === col) continue;
      const factor = m[row][col] / m[col][col];
      for (let k = col; k < 4; k++) m[row][k] -= factor * m[col][k];
    }
  }
  return m.map((row, i) => row[3] / row[i]);
}
