import type { Response } from 'supertest';

/** Asserts an RFC 9457 problem body of the given status that leaks neither stack nor texts. */
export function expectProblem(response: Response, status: number, submittedTexts: string[] = []): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.body as Record<string, unknown>;
  expect(body).toEqual(
    expect.objectContaining({
      type: expect.stringMatching(/^urn:sentiment-api:problem:[a-z-]+$/),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      instance: expect.stringMatching(/^\//),
      requestId: response.headers['x-request-id'],
    }),
  );
  const raw = response.text;
  expect(raw).not.toMatch(/\bat .+\.(js|ts):\d+/);
  expect(raw).not.toContain('stack');
  for (const text of submittedTexts) expect(raw).not.toContain(text);
}
