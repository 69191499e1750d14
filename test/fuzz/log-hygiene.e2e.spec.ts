import { PassThrough } from 'node:stream';
import { createJsonLogger } from '../../src/http/json-logger.js';
import { SentimentModel } from '../../src/model/sentiment-model.service.js';
import request from '../support/contract-request.js';
import { testSettings, createTestApp } from '../support/test-app.js';

const KEY = 'log-hygiene-key-0123456789';
const OTHER_KEY = 'log-hygiene-wrong-key-987654';
// Distinctive texts: if any of them reached a log line it would be found verbatim.
const SECRET_TEXTS = ['zebra-velvet-4711 I love you', 'quartz-marmalade-0815 I hate you', 'oboe-nectar-2024'];
// Submitted in the places that are not bodies: a path, an unknown field name longer than is ever named back.
const SECRET_PATH = 'tangerine-harpsichord-9931';
const SECRET_FIELD = 'walrus-cathedral-7345-'.repeat(2);

describe('log hygiene: a full run with API keys logs no submitted text, path, field name or key', () => {
  it('at trace level, across accepted, refused, invalid and malformed requests', async () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const settings = testSettings({
      API_KEYS: KEY,
      LOG_LEVEL: 'trace',
      MAX_TEXT_CHARS: '64',
      RATE_LIMIT_PER_MINUTE: '8',
    });
    const app = await createTestApp(settings, createJsonLogger('trace', stream));
    try {
      await app.get(SentimentModel).load();
      const server = app.getHttpServer();
      const bearer = { Authorization: `Bearer ${KEY}` };
      const statuses = [
        (await request(server).post('/v1/sentiment/predict').set(bearer).send({ text: SECRET_TEXTS })).status,
        (await request(server).post('/v1/sentiment/predict').set('X-API-Key', KEY).send({ text: SECRET_TEXTS })).status,
        (await request(server).post('/v1/sentiment/predict').set('X-API-Key', OTHER_KEY).send({ text: SECRET_TEXTS }))
          .status,
        (await request(server).post('/v1/sentiment/predict').send({ text: SECRET_TEXTS })).status,
        (
          await request(server)
            .post('/v1/sentiment/predict')
            .set(bearer)
            .send({ text: [SECRET_TEXTS[0].repeat(5)] })
        ).status,
        (
          await request(server)
            .post('/v1/sentiment/predict')
            .set(bearer)
            .send({ text: SECRET_TEXTS, [SECRET_TEXTS[2]]: 1 })
        ).status,
        (
          await request(server)
            .post('/v1/sentiment/predict')
            .set(bearer)
            .set('Content-Type', 'application/json')
            .send(`{"text": ["${SECRET_TEXTS[0]}",`)
        ).status,
        (
          await request(server)
            .post('/v1/sentiment/predict')
            .set(bearer)
            .set('Content-Type', 'text/plain')
            .send(SECRET_TEXTS[1])
        ).status,
        (await request(server).get(`/v1/model?key=${KEY}`).set(bearer)).status,
        (await request(server).get(`/v1/${SECRET_PATH}`).set(bearer)).status,
        (await request(server).get(`/v1/%2E%2E/${SECRET_PATH}`).set(bearer)).status,
        (
          await request(server)
            .post('/v1/sentiment/predict')
            .set(bearer)
            .send({ text: ['fine'], [SECRET_FIELD]: 1 })
        ).status,
        (await request(server).get('/health/ready')).status,
        (await request(server).get('/metrics')).status,
      ];
      for (let i = 0; i < 8; i++) await request(server).get('/v1/model').set(bearer);
      statuses.push(
        (await request(server).post('/v1/sentiment/predict').set(bearer).send({ text: SECRET_TEXTS })).status,
      );
      expect(statuses).toEqual([200, 200, 401, 401, 422, 422, 400, 415, 200, 404, 400, 422, 200, 200, 429]);
    } finally {
      await app.close();
    }
    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(20);
    for (const secret of [
      ...SECRET_TEXTS,
      'zebra-velvet',
      'quartz-marmalade',
      'oboe-nectar',
      'tangerine',
      'walrus-cathedral',
      KEY,
      OTHER_KEY,
    ]) {
      expect({ secret, found: log.includes(secret) }).toEqual({ secret, found: false });
    }
  });
});
