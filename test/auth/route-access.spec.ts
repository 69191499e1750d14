import { ThrottlerStorageService } from '@nestjs/throttler';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { keyRingsOf } from '../../src/auth/key-rings.js';
import { RouteAccessGate } from '../../src/auth/route-access.gate.js';
import { Protected, routeAccessOf, type RouteAccess } from '../../src/auth/route-access.js';
import { loadSettings, type Environment } from '../../src/config/settings.js';
import {
  METRICS_UNAUTHORIZED_DETAIL,
  TOO_MANY_FAILURES_DETAIL,
  UNAUTHORIZED_DETAIL,
} from '../../src/http/problem-details.js';
import { ProblemError } from '../../src/http/problem.js';
import { NeedsModel } from '../../src/inference/needs-model.js';
import { RequestLimiter } from '../../src/rate-limit/request-limiter.js';

const API_KEY = 'api-key-0123456789abcdef';
const OTHER_API_KEY = 'api-key-fedcba9876543210';
const METRICS_KEY = 'metrics-key-0123456789ab';

const API: RouteAccess = { realm: 'sentiment-api', rateLimited: true };
const METRICS: RouteAccess = { realm: 'metrics', rateLimited: false };

describe('@Protected', () => {
  @Protected(API)
  class Routes {
    @NeedsModel()
    predict(): string {
      return 'predict';
    }

    model(): string {
      return 'model';
    }
  }

  /** The route config Nest hands to Fastify with the handler (Nest reads it from the function itself). */
  const configOf = (method: 'predict' | 'model') => {
    const handler = Object.getOwnPropertyDescriptor(Routes.prototype, method)!.value as object;
    return Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) as Record<string, unknown>;
  };

  it("adds the access to every handler's route config, beside what other decorators put there", () => {
    expect(configOf('predict')).toEqual({ needsModel: true, access: API });
    expect(configOf('model')).toEqual({ access: API });
  });

  it('is what routeAccessOf reads from the matched route; open and unmatched routes demand nothing', () => {
    const matched = { routeOptions: { config: configOf('model') } } as unknown as FastifyRequest;
    expect(routeAccessOf(matched)).toEqual(API);
    expect(routeAccessOf({ routeOptions: { config: {} } } as unknown as FastifyRequest)).toBeUndefined();
    expect(routeAccessOf({ routeOptions: {} } as unknown as FastifyRequest)).toBeUndefined();
  });
});

interface Call {
  access?: RouteAccess;
  headers?: Record<string, string>;
  ip?: string;
}

/** The gate on the real key rings and limiter (memory counters, as without REDIS_URL). */
function gateWith(env: Environment) {
  const settings = loadSettings({ NODE_ENV: 'test', ...env });
  const storage = new ThrottlerStorageService();
  const gate = new RouteAccessGate(keyRingsOf(settings), new RequestLimiter(settings, storage), settings);
  /** Runs one request through the gate: the RateLimit-* headers it set, or the problem it threw. */
  const check = async ({ access, headers = {}, ip = '192.0.2.1' }: Call) => {
    const replyHeaders: Record<string, string> = {};
    const request = { routeOptions: { config: { access } }, headers, ip } as unknown as FastifyRequest;
    const reply = {
      headers: (set: Record<string, string>) => Object.assign(replyHeaders, set),
    } as unknown as FastifyReply;
    try {
      await gate.check(request, reply);
      return { passed: true as const, headers: replyHeaders };
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      return { passed: false as const, problem: error };
    }
  };
  return { check, close: () => storage.onApplicationShutdown() };
}

function problemOf(outcome: Awaited<ReturnType<ReturnType<typeof gateWith>['check']>>): ProblemError {
  if (outcome.passed) throw new Error('expected the gate to refuse the request');
  return outcome.problem;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('RouteAccessGate with API_KEYS and METRICS_API_KEY', () => {
  let t: ReturnType<typeof gateWith>;
  beforeEach(() => {
    t = gateWith({
      API_KEYS: `${API_KEY},${OTHER_API_KEY}`,
      METRICS_API_KEY: METRICS_KEY,
      RATE_LIMIT_PER_MINUTE: '3',
      AUTH_FAILURES_PER_MINUTE: '100',
    });
  });
  afterEach(() => t.close());

  it('lets requests to open routes through without a key or a count', async () => {
    for (let i = 0; i < 5; i++) expect(await t.check({})).toEqual({ passed: true, headers: {} });
  });

  it('answers a missing and a wrong key with the same 401 naming the realm', async () => {
    const missing = problemOf(await t.check({ access: API }));
    const wrong = problemOf(await t.check({ access: API, headers: bearer('not-a-key') }));
    for (const problem of [missing, wrong]) {
      expect(problem).toMatchObject({
        status: 401,
        slug: 'unauthorized',
        detail: UNAUTHORIZED_DETAIL,
        headers: { 'WWW-Authenticate': 'Bearer realm="sentiment-api"' },
      });
    }
    expect(wrong).toEqual(missing);
  });

  it('accepts a valid key as a Bearer token or as X-API-Key, and counts it against its budget', async () => {
    const viaBearer = await t.check({ access: API, headers: bearer(API_KEY) });
    const viaHeader = await t.check({ access: API, headers: { 'x-api-key': API_KEY } });
    expect(viaBearer).toEqual({ passed: true, headers: expect.objectContaining({ 'RateLimit-Limit': '3' }) });
    expect(viaBearer.passed && viaBearer.headers['RateLimit-Remaining']).toBe('2');
    expect(viaHeader.passed && viaHeader.headers['RateLimit-Remaining']).toBe('1');
  });

  it('keeps the realms apart: an API key does not open /metrics, nor the metrics key /v1', async () => {
    const apiKeyOnMetrics = problemOf(await t.check({ access: METRICS, headers: bearer(API_KEY) }));
    expect(apiKeyOnMetrics).toMatchObject({
      status: 401,
      detail: METRICS_UNAUTHORIZED_DETAIL,
      headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
    });
    expect(problemOf(await t.check({ access: API, headers: bearer(METRICS_KEY) })).status).toBe(401);
    expect(await t.check({ access: METRICS, headers: bearer(METRICS_KEY) })).toEqual({ passed: true, headers: {} });
  });

  it('gives each key its own budget, and refuses the spent one with 429', async () => {
    for (let i = 0; i < 3; i++) expect((await t.check({ access: API, headers: bearer(API_KEY) })).passed).toBe(true);

    const spent = problemOf(await t.check({ access: API, headers: bearer(API_KEY) }));
    expect(spent).toMatchObject({ status: 429, slug: 'rate-limited' });
    expect(spent.headers['RateLimit-Remaining']).toBe('0');
    expect(Number(spent.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    // Another key from the same address still has its whole budget.
    const other = await t.check({ access: API, headers: bearer(OTHER_API_KEY) });
    expect(other.passed && other.headers['RateLimit-Remaining']).toBe('2');
  });

  it('checks the key before the budget: a stranger neither spends nor is told about a key budget', async () => {
    for (let i = 0; i < 3; i++) await t.check({ access: API, headers: bearer(API_KEY) });
    // The key's budget is spent, yet a wrong key still gets 401, not that key's 429.
    expect(problemOf(await t.check({ access: API, headers: bearer('not-a-key') })).status).toBe(401);
    for (let i = 0; i < 5; i++) await t.check({ access: API, headers: bearer('not-a-key') });
    const other = await t.check({ access: API, headers: bearer(OTHER_API_KEY) });
    expect(other.passed && other.headers['RateLimit-Remaining']).toBe('2');
  });

  it('does not count requests on a route that is not rate limited', async () => {
    for (let i = 0; i < 5; i++) {
      expect(await t.check({ access: METRICS, headers: bearer(METRICS_KEY) })).toEqual({ passed: true, headers: {} });
    }
  });
});

describe('RouteAccessGate: too many wrong keys from one address', () => {
  let t: ReturnType<typeof gateWith>;
  beforeEach(() => {
    t = gateWith({ API_KEYS: API_KEY, METRICS_API_KEY: METRICS_KEY, AUTH_FAILURES_PER_MINUTE: '2' });
  });
  afterEach(() => t.close());

  it('turns the 401s into 429s for that address only, whatever the realm', async () => {
    const attacker = '198.51.100.7';
    expect(problemOf(await t.check({ access: API, ip: attacker })).status).toBe(401);
    expect(problemOf(await t.check({ access: METRICS, ip: attacker, headers: bearer('guess') })).status).toBe(401);

    const refused = problemOf(await t.check({ access: API, ip: attacker, headers: bearer('guess') }));
    expect(refused).toMatchObject({ status: 429, slug: 'rate-limited', detail: TOO_MANY_FAILURES_DETAIL });
    expect(Number(refused.headers['Retry-After'])).toBeGreaterThanOrEqual(1);

    expect(problemOf(await t.check({ access: API, ip: '198.51.100.8' })).status).toBe(401);
    // A valid key is not a failure: its holder is served even from that address.
    expect((await t.check({ access: API, ip: attacker, headers: bearer(API_KEY) })).passed).toBe(true);
  });
});

describe('RouteAccessGate without keys', () => {
  let t: ReturnType<typeof gateWith>;
  beforeEach(() => {
    t = gateWith({ RATE_LIMIT_PER_MINUTE: '2' });
  });
  afterEach(() => t.close());

  it('opens both realms and counts /v1 per client address, ignoring any key sent', async () => {
    expect(await t.check({ access: METRICS })).toEqual({ passed: true, headers: {} });
    expect((await t.check({ access: API, headers: bearer('invented-1') })).passed).toBe(true);
    expect((await t.check({ access: API, headers: bearer('invented-2') })).passed).toBe(true);
    // Inventing a third key does not buy a fresh budget.
    expect(problemOf(await t.check({ access: API, headers: bearer('invented-3') })).status).toBe(429);
    expect((await t.check({ access: API, ip: '192.0.2.2' })).passed).toBe(true);
  });
});

describe('RouteAccessGate with RATE_LIMIT_ENABLED=false', () => {
  let t: ReturnType<typeof gateWith>;
  beforeEach(() => {
    t = gateWith({
      API_KEYS: API_KEY,
      RATE_LIMIT_ENABLED: 'false',
      RATE_LIMIT_PER_MINUTE: '1',
      AUTH_FAILURES_PER_MINUTE: '1',
    });
  });
  afterEach(() => t.close());

  it('still checks keys but never answers 429 nor sets RateLimit headers', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await t.check({ access: API, headers: bearer(API_KEY) })).toEqual({ passed: true, headers: {} });
      expect(problemOf(await t.check({ access: API, headers: bearer('wrong') })).status).toBe(401);
    }
  });
});
