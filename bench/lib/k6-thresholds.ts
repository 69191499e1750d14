import type { ThresholdSet } from '../../k6/lib/thresholds.js';
import { percentile } from './stats.js';
import type { LoadSamples } from './http-load.js';

/**
 * Evaluates k6 threshold expressions (https://grafana.com/docs/k6/latest/using-k6/thresholds/)
 * on autocannon measurements, for the metrics the predict scenarios use: http_reqs,
 * http_req_duration, http_req_failed and checks, optionally filtered by the `status` or
 * `expected_response` tag. Anything else is an error, never silently skipped.
 */

export interface ThresholdResult {
  metric: string;
  expression: string;
  value: number;
  passed: boolean;
}

type Comparison = '<' | '<=' | '>' | '>=' | '==' | '===' | '!=';

interface ParsedExpression {
  aggregation: string;
  comparison: Comparison;
  bound: number;
}

const EXPRESSION =
  /^\s*(avg|min|max|med|count|rate|p\(\s*\d+(?:\.\d+)?\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;
const METRIC = /^(\w+)(?:\{([^}]*)\})?$/;

export function parseExpression(expression: string): ParsedExpression {
  const match = EXPRESSION.exec(expression);
  if (!match) throw new Error(`unsupported threshold expression ${JSON.stringify(expression)}`);
  return { aggregation: match[1].replace(/\s/g, ''), comparison: match[2] as Comparison, bound: Number(match[3]) };
}

function compare(value: number, comparison: Comparison, bound: number): boolean {
  switch (comparison) {
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    case '==':
    case '===':
      return value === bound;
    case '!=':
      return value !== bound;
  }
}

/** What k6 counts as a failed request: no response, or a status outside the expected ones. */
export function isExpectedStatus(status: number, allowShedding: boolean): boolean {
  return (status >= 200 && status < 400) || (allowShedding && status === 503);
}

interface Request {
  status: number;
  ms: number;
}

function selectRequests(samples: LoadSamples, tags: string | undefined, allowShedding: boolean): Request[] {
  const requests: Request[] = [
    ...samples.responses,
    // Requests without an answer: k6 reports them with status 0.
    ...Array.from({ length: samples.errors }, () => ({ status: 0, ms: NaN })),
  ];
  if (!tags) return requests;
  return tags.split(',').reduce((selected, tag) => {
    const [name, value] = tag.split(':').map((part) => part.trim());
    if (name === 'status') return selected.filter((request) => String(request.status) === value);
    if (name === 'expected_response') {
      return selected.filter((request) => String(isExpectedStatus(request.status, allowShedding)) === value);
    }
    throw new Error(`unsupported threshold tag ${JSON.stringify(name)}`);
  }, requests);
}

function trendValue(aggregation: string, values: number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  if (aggregation === 'avg') return sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  if (aggregation === 'min') return sorted[0];
  if (aggregation === 'max') return sorted[sorted.length - 1];
  if (aggregation === 'med') return percentile(sorted, 50);
  const p = /^p\((.+)\)$/.exec(aggregation);
  if (p) return percentile(sorted, Number(p[1]));
  throw new Error(`${aggregation} does not apply to a trend metric`);
}

function metricValue(
  metric: string,
  tags: string | undefined,
  aggregation: string,
  samples: LoadSamples,
  allowShedding: boolean,
): number {
  if (metric === 'checks') {
    if (tags) throw new Error('checks thresholds with tags are not supported');
    if (aggregation !== 'rate') throw new Error(`checks is a rate metric: use rate, not ${aggregation}`);
    const total = samples.checksPassed + samples.checksFailed;
    return total === 0 ? 0 : samples.checksPassed / total;
  }
  const requests = selectRequests(samples, tags, allowShedding);
  switch (metric) {
    case 'http_reqs':
      if (aggregation === 'count') return requests.length;
      if (aggregation === 'rate') return requests.length / samples.elapsedSeconds;
      throw new Error(`http_reqs is a counter: use count or rate, not ${aggregation}`);
    case 'http_req_failed': {
      if (aggregation !== 'rate') throw new Error(`http_req_failed is a rate metric: use rate, not ${aggregation}`);
      const failed = requests.filter((request) => !isExpectedStatus(request.status, allowShedding)).length;
      return requests.length === 0 ? 0 : failed / requests.length;
    }
    case 'http_req_duration':
      return trendValue(
        aggregation,
        requests.map((request) => request.ms),
      );
    default:
      throw new Error(`unsupported threshold metric ${JSON.stringify(metric)}`);
  }
}

export function evaluateThresholds(
  thresholds: ThresholdSet,
  samples: LoadSamples,
  { allowShedding }: { allowShedding: boolean },
): ThresholdResult[] {
  return Object.entries(thresholds).flatMap(([metric, expressions]) => {
    const match = METRIC.exec(metric);
    if (!match) throw new Error(`unsupported threshold metric ${JSON.stringify(metric)}`);
    return expressions.map((expression) => {
      const { aggregation, comparison, bound } = parseExpression(expression);
      const value = metricValue(match[1], match[2], aggregation, samples, allowShedding);
      return { metric, expression, value, passed: compare(value, comparison, bound) };
    });
  });
}
