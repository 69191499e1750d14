import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { CacheStats } from '../../src/cache/cache-stats.js';
import type { Prediction } from '../../src/model/label-scores.js';
import type { SentimentModel } from '../../src/model/sentiment-model.service.js';
import type { TestApp } from '../support/test-app.js';
import { classifyTexts } from '../support/classify-texts.js';

export const PREDICT = '/v1/sentiment/predict';

/** Texts no earlier run can have cached (a shared REDIS_URL outlives test runs). */
export function freshTexts(count: number, label = 'text'): string[] {
  const run = randomBytes(6).toString('hex');
  const words = ['good', 'bad', 'great', 'awful', 'fine', 'terrible', 'lovely', 'sad'];
  return Array.from({ length: count }, (_, i) => `${label} ${i} ${run} is ${words[i % words.length]}`);
}

export async function predict(t: TestApp, texts: string[]) {
  const response = await request(t.app.getHttpServer()).post(PREDICT).send({ text: texts });
  return { status: response.status, cache: response.headers['x-cache'], body: response.body, response };
}

/** Every text the real model was asked to classify while the spy watched, sorted. */
export function classifiedTexts(spy: ReturnType<typeof spyOnModel>): string[] {
  return spy.mock.calls.flatMap(([texts]) => [...texts]).sort();
}

/**
 * Watches the real model (a spy, not a stand-in: the model still computes every answer). Every
 * text the model computes is tokenized first, once, so the tokenizer calls list them.
 */
export function spyOnModel(model: SentimentModel) {
  return jest.spyOn(model, 'tokenize');
}

/** Same labels in the same order, scores within 1e-6. */
export function expectSamePrediction(actual: Prediction, expected: Prediction): void {
  expect(actual.map((p) => p.label)).toEqual(expected.map((p) => p.label));
  actual.forEach((p, i) => expect(Math.abs(p.score - expected[i].score)).toBeLessThanOrEqual(1e-6));
}

/** What the model itself answers for each text, one at a time. */
export async function modelAnswers(model: SentimentModel, texts: string[]): Promise<Prediction[]> {
  const answers: Prediction[] = [];
  for (const text of texts) answers.push(...(await classifyTexts(model, [text])));
  return answers;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the app's cache answers (the Redis client connects in the background). */
export async function waitForCache(t: TestApp, withinMs = 5000): Promise<void> {
  const stats = t.app.get(CacheStats);
  const deadline = Date.now() + withinMs;
  while (!stats.isUp()) {
    if (Date.now() > deadline) throw new Error(`the ${stats.backend} cache did not come up within ${withinMs} ms`);
    await sleep(20);
  }
}
