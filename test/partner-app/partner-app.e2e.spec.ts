import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startUnreadyServer, type UnreadyServer } from './unready-server.js';

const run = promisify(execFile);
const TSC = join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc');
const PARTNER_APP = join(process.cwd(), 'test-output', 'partner-app', 'main.js');

interface Report {
  model: { id: string; labels: string[]; maxBatchSize: number };
  verdicts: { text: string; label: string; confidence: number; tokens: number; truncated: boolean }[];
  empty: { status: number; type: string; paths: string[]; retryAfterSeconds?: number };
  notReady: { status: number; type: string; paths: string[]; retryAfterSeconds?: number };
}

/**
 * A partner app written only against @sentiment-api/client (test/partner-app/src), built with tsc
 * against the built SDK package and run against live servers: typed results, and the 422 and 503
 * problems as typed Problem objects.
 */
describe('partner app on the generated SDK', () => {
  let ready: ServerProcess;
  let unready: UnreadyServer;
  let report: Report;

  beforeAll(async () => {
    // Build the package as published (sdk/dist), then the app against it: a contract change that
    // breaks partners breaks here.
    await run(process.execPath, [TSC, '-p', 'sdk/tsconfig.json']);
    await run(process.execPath, [TSC, '-p', 'test/partner-app/tsconfig.json']);
    [ready, unready] = await Promise.all([startServerProcess('partner-app'), startUnreadyServer()]);
    const { stdout } = await run(process.execPath, [PARTNER_APP, ready.baseUrl, unready.baseUrl]);
    report = JSON.parse(stdout) as Report;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([ready?.stop(), unready?.stop()]);
  });

  it('reads the model info', () => {
    expect(report.model).toEqual({
      id: 'sentiment-api/distilbert-sst2-afinn-baseline-tiny',
      labels: ['NEGATIVE', 'POSITIVE'],
      maxBatchSize: 1000,
    });
  });

  it('gets a typed verdict per review, in order, with top_k and details', () => {
    const long = `${'great '.repeat(600)}`;
    expect(report.verdicts.map(({ text, label, tokens, truncated }) => ({ text, label, tokens, truncated }))).toEqual([
      { text: 'I love this phone', label: 'POSITIVE', tokens: 6, truncated: false },
      { text: 'Terrible battery, I hate it', label: 'NEGATIVE', tokens: 8, truncated: false },
      { text: long, label: 'POSITIVE', tokens: 602, truncated: true },
    ]);
    for (const { confidence } of report.verdicts) {
      expect(confidence).toBeGreaterThan(0.5);
      expect(confidence).toBeLessThanOrEqual(1);
    }
  });

  it('gets the 422 for an empty batch as a Problem naming the invalid path', () => {
    expect(report.empty).toEqual({ status: 422, type: 'urn:sentiment-api:problem:validation', paths: ['text'] });
  });

  it('gets the 503 of a service that is not ready as a Problem with Retry-After', () => {
    expect(report.notReady).toEqual({
      status: 503,
      type: 'urn:sentiment-api:problem:model-not-ready',
      paths: [],
      retryAfterSeconds: expect.any(Number),
    });
    expect(report.notReady.retryAfterSeconds).toBeGreaterThan(0);
  });
});
