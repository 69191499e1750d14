// Nest 12 and transformers.js are ESM-only, so Jest runs in its native ESM mode
// (node --experimental-vm-modules) with ts-jest emitting ESM.
const esmOnlyDependencies = ['content-disposition', 'cookie'];

/**
 * The test tiers, told apart by a test's folder or file name, so a new test joins its tier without
 * a config change (folders first, then the suffix). `npm test` runs them in this order.
 * - unit (`*.spec.ts`): in this process only, no app, server or other program; seconds in all.
 * - app (`*.e2e.spec.ts`): the app in-process or the built server (dist/main.js), on the real
 *   model and real redis-server.
 * - system (`*.system.spec.ts`, everything in `test/cluster/`): other programs: Chromium,
 *   Prometheus, podman, kubectl, the tool chain (redocly, the SDK generator, tsc), replicas.
 * - serial (everything in `test/chaos/` and `test/soak/`): long loads judged by "no request failed",
 *   and the tests that need real time (Redis faults, latency thresholds), each saying why at its top.
 *   No other tier may rest an assertion on a short timer or a wall-clock race: inject a clock.
 */
const SERIAL_FOLDERS = ['<rootDir>/test/chaos/', '<rootDir>/test/soak/'];
const SYSTEM_FOLDERS = ['<rootDir>/test/cluster/'];
const specsIn = (folders) => folders.map((folder) => `${folder}**/*.spec.ts`);
export const TIERS = {
  unit: {
    testMatch: ['<rootDir>/test/**/*.spec.ts'],
    testPathIgnorePatterns: [
      '/node_modules/',
      '\\.e2e\\.spec\\.ts$',
      '\\.system\\.spec\\.ts$',
      ...SYSTEM_FOLDERS,
      ...SERIAL_FOLDERS,
    ],
  },
  app: {
    testMatch: ['<rootDir>/test/**/*.e2e.spec.ts'],
    testPathIgnorePatterns: ['/node_modules/', ...SYSTEM_FOLDERS, ...SERIAL_FOLDERS],
  },
  system: {
    testMatch: ['<rootDir>/test/**/*.system.spec.ts', ...specsIn(SYSTEM_FOLDERS)],
    testPathIgnorePatterns: ['/node_modules/', ...SERIAL_FOLDERS],
  },
  serial: { testMatch: specsIn(SERIAL_FOLDERS), testPathIgnorePatterns: ['/node_modules/'] },
};

/**
 * The shared settings, and the default config: every test but the serial ones, for running some
 * files by path (`jest <paths>`); the tiers are jest.{unit,app,system,serial}.config.js.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: '<rootDir>/test/support/node-environment.cjs',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
    // These ESM-only packages are require()d by CommonJS dependencies (@fastify/static,
    // light-my-request). Node 20 allows that natively, Jest's module loader does not:
    // compile them to CommonJS for the tests only.
    [`/node_modules/(${esmOnlyDependencies.join('|')})/.+\\.js$`]: [
      'ts-jest',
      { useESM: true, tsconfig: { allowJs: true, isolatedModules: true } },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnlyDependencies.join('|')})/)`],
  // @nestjs/throttler (CommonJS) require()s ESM-only @nestjs/common and @nestjs/core: see jest-resolver.cjs.
  resolver: '<rootDir>/test/support/jest-resolver.cjs',
  setupFilesAfterEnv: ['<rootDir>/test/support/share-nestjs-common.ts'],
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...SERIAL_FOLDERS],
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  // With JEST_RUNNING_SUITES_FILE (set by .ci/run), that file lists the suites running now: CI prints
  // it when a tier passes its time limit.
  ...(process.env.JEST_RUNNING_SUITES_FILE && {
    reporters: ['default', '<rootDir>/test/support/running-suites-reporter.cjs'],
  }),
};
