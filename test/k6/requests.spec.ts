import { jest } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface RecordedRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** What `http.expectedStatuses` was given for this request's responseCallback, if any. */
  expectedStatuses?: unknown[];
}

interface PredictModule {
  predict(options: { allowShedding: boolean }): void;
  requireReady(): void;
  READINESS_PATH: string;
  READINESS_POLLS: number;
}

interface ScenarioModule {
  setup(): void;
}

/** What the k6 scripts did under the shim. */
interface K6Run {
  requests: RecordedRequest[];
  sleeps: number[];
  counters: Map<string, number>;
}

const K6_DIR = join(process.cwd(), 'k6');
const BASE_URL = 'https://sentiment-api.example.com';
const KEY = 'k6-load-test-key-0123456789';

/**
 * Loads a k6 script module in this process with stand-ins for k6's built-in modules (`k6`,
 * `k6/http`, `k6/metrics`) and its `__ENV`: requests are recorded and answered with `statuses` in
 * turn (then 200), `fail()` throws like k6's. Each call loads fresh modules, so the script reads
 * `env` as a new k6 run would. The path is not a literal: tsc does not follow it into the k6 files,
 * which only compile under k6/tsconfig.json.
 */
async function loadUnderShim<T>(file: string, env: Record<string, string>, statuses: number[] = []) {
  jest.resetModules();
  const run: K6Run = { requests: [], sleeps: [], counters: new Map() };
  const answers = [...statuses];
  const respond = (request: RecordedRequest) => {
    run.requests.push(request);
    const status = answers.shift() ?? 200;
    return { status, body: JSON.stringify({ predictions: [] }) };
  };
  type Params = { headers?: Record<string, string>; responseCallback?: { expectedStatuses: unknown[] } };
  const http = {
    get: (url: string, params: Params = {}) =>
      respond({
        method: 'GET',
        url,
        headers: params.headers ?? {},
        expectedStatuses: params.responseCallback?.expectedStatuses,
      }),
    post: (url: string, _body: string, params: Params = {}) =>
      respond({ method: 'POST', url, headers: params.headers ?? {} }),
    expectedStatuses: (...expectedStatuses: unknown[]) => ({ expectedStatuses }),
    setResponseCallback: () => undefined,
  };
  jest.unstable_mockModule(
    'k6',
    () => ({
      check: () => true,
      fail: (message: string) => {
        throw new Error(message);
      },
      sleep: (seconds: number) => void run.sleeps.push(seconds),
    }),
    { virtual: true },
  );
  jest.unstable_mockModule('k6/http', () => ({ default: http }), { virtual: true });
  jest.unstable_mockModule(
    'k6/metrics',
    () => ({
      Counter: class {
        constructor(private readonly name: string) {}
        add(value: number) {
          run.counters.set(this.name, (run.counters.get(this.name) ?? 0) + value);
        }
      },
    }),
    { virtual: true },
  );
  (globalThis as { __ENV?: Record<string, string> }).__ENV = { BASE_URL, ...env };
  const module = (await import(join(K6_DIR, file))) as T;
  return { module, run };
}

afterAll(() => {
  delete (globalThis as { __ENV?: unknown }).__ENV;
});

describe('k6 requests and the API key (API_KEY)', () => {
  it('sends the key as a bearer token on every request when API_KEY is set', async () => {
    const { module, run } = await loadUnderShim<PredictModule>('lib/predict.ts', { API_KEY: KEY });
    module.requireReady();
    module.predict({ allowShedding: false });
    expect(run.requests.map(({ method, url }) => `${method} ${url}`)).toEqual([
      `GET ${BASE_URL}/v1/model`,
      `POST ${BASE_URL}/v1/sentiment/predict`,
    ]);
    for (const { headers } of run.requests) expect(headers.Authorization).toBe(`Bearer ${KEY}`);
    expect(run.requests[1].headers['Content-Type']).toBe('application/json');
  });

  it.each([
    ['unset', {}],
    ['empty', { API_KEY: '' }],
  ])('sends no Authorization header when API_KEY is %s', async (_case, env) => {
    const { module, run } = await loadUnderShim<PredictModule>('lib/predict.ts', env);
    module.requireReady();
    module.predict({ allowShedding: false });
    expect(run.requests).toHaveLength(2);
    for (const { headers } of run.requests) expect(Object.keys(headers)).not.toContain('Authorization');
  });

  it('counts the 429s of the rate limit, and nothing else, in rate_limited_requests', async () => {
    const { module, run } = await loadUnderShim<PredictModule>('lib/predict.ts', {}, [200, 429, 503, 429]);
    for (let i = 0; i < 5; i++) module.predict({ allowShedding: true });
    expect(run.counters.get('rate_limited_requests')).toBe(2);
  });
});

describe('k6 setup(): readiness through the public /v1 prefix', () => {
  it('polls a route the public AKS Ingress routes, where /health/ready is not', async () => {
    const { module } = await loadUnderShim<PredictModule>('lib/predict.ts', {});
    const ingress = parse(readFileSync(join(process.cwd(), 'deploy/k8s/overlays/aks/api-ingress.yaml'), 'utf8')) as {
      spec: { rules: { http: { paths: { path: string; pathType: string }[] } }[] };
    };
    const rules = ingress.spec.rules.flatMap(({ http }) => http.paths);
    // Kubernetes Prefix matching is per path element: /v1 matches /v1/model, not /v1model.
    const routed = (path: string) =>
      rules.some((rule) => path === rule.path || (rule.pathType === 'Prefix' && path.startsWith(`${rule.path}/`)));
    expect(routed(module.READINESS_PATH)).toBe(true);
    expect(routed('/health/ready')).toBe(false);
  });

  it('waits a second per 503 while the model loads, without counting those 503s as failed', async () => {
    const { module, run } = await loadUnderShim<PredictModule>('lib/predict.ts', { API_KEY: KEY }, [503, 503, 200]);
    module.requireReady();
    expect(run.requests.map(({ url }) => url)).toEqual(Array(3).fill(`${BASE_URL}/v1/model`));
    expect(run.sleeps).toEqual([1, 1]);
    for (const { expectedStatuses } of run.requests) expect(expectedStatuses).toEqual([200, 503]);
  });

  it('gives up within k6 setupTimeout (60 s) when the model never turns ready', async () => {
    const { module, run } = await loadUnderShim<PredictModule>('lib/predict.ts', {}, Array(100).fill(503));
    expect(() => module.requireReady()).toThrow(/still answered 503 after \d+ polls/);
    expect(run.requests).toHaveLength(module.READINESS_POLLS);
    expect(run.sleeps.reduce((sum, seconds) => sum + seconds, 0)).toBeLessThan(60);
  });

  it('stops at once on a 401 and names API_KEY, and on any other answer', async () => {
    const unauthorized = await loadUnderShim<PredictModule>('lib/predict.ts', {}, [401]);
    expect(() => unauthorized.module.requireReady()).toThrow(/401: set API_KEY/);
    expect(unauthorized.run.requests).toHaveLength(1);
    const notFound = await loadUnderShim<PredictModule>('lib/predict.ts', { API_KEY: KEY }, [404]);
    expect(() => notFound.module.requireReady()).toThrow(/answered 404/);
    expect(notFound.run.sleeps).toEqual([]);
  });

  const scenarios = readdirSync(join(K6_DIR, 'scenarios')).filter((file) => file.endsWith('.ts'));

  it('covers every scenario', () => {
    expect(scenarios.sort()).toEqual(['load.ts', 'smoke.ts', 'soak.ts', 'spike.ts', 'stress.ts']);
  });

  it.each(scenarios)('%s: setup() polls /v1/model with the key', async (file) => {
    const { module, run } = await loadUnderShim<ScenarioModule>(join('scenarios', file), { API_KEY: KEY }, [503, 200]);
    module.setup();
    expect(run.requests).toEqual([
      expect.objectContaining({
        method: 'GET',
        url: `${BASE_URL}/v1/model`,
        headers: { Authorization: `Bearer ${KEY}` },
      }),
      expect.objectContaining({ method: 'GET', url: `${BASE_URL}/v1/model` }),
    ]);
  });
});
