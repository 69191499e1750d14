// Chaos, soak and cluster tests (test/chaos, test/soak, test/cluster): long loads judged by "no
// request failed" and by the service's own metrics. They run after the main suites, one at a time, so no other suite
// competes for the cores and turns a fault-free second into a queue-full 503.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: [
    '<rootDir>/test/chaos/**/*.spec.ts',
    '<rootDir>/test/soak/**/*.spec.ts',
    '<rootDir>/test/cluster/**/*.spec.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 180000,
};
