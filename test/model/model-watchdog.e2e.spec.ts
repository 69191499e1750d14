import request from 'supertest';
import { FaultyModelWorkers } from '../support/model-workers.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { until } from '../support/until.js';

const PREDICT = '/v1/sentiment/predict';
let run = 0;
const predict = (t: TestApp) =>
  request(t.app.getHttpServer())
    .post(PREDICT)
    .send({ text: [`watchdog ${Date.now()} ${run++}, a fine day`] });

/** The model worker watchdog, through the real worker started by the model module's worker seam. */
describe('the model worker watchdog', () => {
  let t: TestApp;
  let workers: FaultyModelWorkers;

  beforeEach(async () => {
    workers = new FaultyModelWorkers();
    t = await startTestApp(
      {
        RATE_LIMIT_ENABLED: 'false',
        MODEL_CALL_TIMEOUT_MS: '500',
        MODEL_RESTART_BACKOFF_MS: '50',
        MODEL_MAX_RESTARTS: '2',
      },
      { startWorker: workers.start },
    );
  });
  afterEach(() => t.close());

  it('fails only the requests of a hung call, restarts the worker, and serves again', async () => {
    void workers.last!.hangNextCall();
    const started = performance.now();
    const hung = await predict(t);
    expect(hung.status).toBe(503);
    expect(hung.body.type).toBe('urn:sentiment-api:problem:inference-failed');
    // The watchdog's deadline (500 ms), not the request's (30 s).
    expect(performance.now() - started).toBeLessThan(5000);
    await until(() => t.model.ready, 15_000);
    expect(workers.started).toBe(2);
    expect((await predict(t)).status).toBe(200);
    expect((await request(t.app.getHttpServer()).get('/health/live')).status).toBe(200);
  });

  it('restarts a crashed worker after a delay and serves again', async () => {
    await workers.last!.terminate();
    expect(t.model.ready).toBe(false);
    expect((await predict(t)).status).toBe(503); // model-not-ready while it reloads
    await until(() => t.model.ready, 15_000);
    expect((await predict(t)).status).toBe(200);
    expect((await request(t.app.getHttpServer()).get('/health/ready')).status).toBe(200);
  });

  it('gives up after MODEL_MAX_RESTARTS failed reloads in a row, and liveness fails so the pod is replaced', async () => {
    workers.breakReloads = true;
    await workers.last!.terminate();
    await until(() => t.model.beyondRepair, 20_000);
    expect(workers.started).toBe(3); // the first, then two failed restarts
    const live = await request(t.app.getHttpServer()).get('/health/live');
    expect(live.status).toBe(503);
    expect(live.body.error.worker).toEqual({ status: 'down', state: 'beyond-repair' });
    expect((await request(t.app.getHttpServer()).get('/health/ready')).status).toBe(503);
  });
});
