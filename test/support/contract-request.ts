import supertest from 'supertest';
import { openApiContract } from './openapi-contract.js';

type App = Parameters<typeof supertest>[0];
type Agent = ReturnType<typeof supertest>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

/**
 * supertest's `request(app)`, except that every response is also checked against the committed
 * openapi.yaml (status, content type, body schema, headers): a drop-in replacement for e2e suites,
 * so no response they receive can leave the contract unnoticed.
 */
export default function request(app: App): Agent {
  const agent = supertest(app);
  const checked: Partial<Record<(typeof METHODS)[number], (url: string) => supertest.Test>> = {};
  for (const method of METHODS) {
    checked[method] = (url: string) =>
      agent[method](url).expect((response) => openApiContract().assertResponse(method, url, response));
  }
  return { ...agent, ...checked, del: checked.delete } as Agent;
}
