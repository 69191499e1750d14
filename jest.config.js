// Nest 12 and transformers.js are ESM-only, so Jest runs in its native ESM mode
// (node --experimental-vm-modules) with ts-jest emitting ESM.
/** @type {import('jest').Config} */
export default {
  testEnvironment: '<rootDir>/test/support/node-environment.cjs',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  testTimeout: 60000,
};
