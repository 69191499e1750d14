import { PROBLEM } from '../http/problem-catalogue.js';
import { ProblemError } from '../http/problem.js';

/**
 * The 401 every key check answers, the same for a missing and a wrong key so that it tells a caller
 * nothing about the keys. `realm` names what the key opens.
 */
export function unauthorized(realm: string, detail: string): ProblemError {
  return new ProblemError(PROBLEM.unauthorized, detail, { headers: { 'WWW-Authenticate': `Bearer realm="${realm}"` } });
}
