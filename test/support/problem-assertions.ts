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
      requestId: response.headers['x-request-id'],
    }),
  );
  // `instance` is the matched route's template; a 404 matched none, and never echoes the path.
  if (status === 404) expect(body).not.toHaveProperty('instance');
  else expect(body.instance).toMatch(/^\/[a-z0-9/-]*$/);
  const raw = response.text;
  expect(raw).not.toMatch(/\bat .+\.(js|ts):\d+/);
  expect(raw).not.toContain('stack');
  for (const text of submittedTexts) expect(raw).not.toContain(text);
}
