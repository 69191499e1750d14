// Nest 12 and transformers.js are ESM-only, so Jest runs in its native ESM mode
// (node --experimental-vm-modules) with ts-jest emitting ESM.
const esmOnlyDependencies = ['content-disposition', 'cookie'];

/** @type {import('jest').Config} */
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
  // @willsoto/nestjs-prometheus (CommonJS) require()s ESM-only @nestjs/common: see jest-resolver.cjs.
  resolver: '<rootDir>/test/support/jest-resolver.cjs',
  setupFilesAfterEnv: ['<rootDir>/test/support/share-nestjs-common.ts'],
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  // Run on their own, one at a time, by jest.serial.config.js (npm run test:serial).
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/chaos/',
    '<rootDir>/test/soak/',
    '<rootDir>/test/cluster/',
  ],
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
};
