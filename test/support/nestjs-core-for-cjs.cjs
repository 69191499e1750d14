// Stand-in for `require('@nestjs/core')` inside CommonJS dependencies under Jest; see jest-resolver.cjs.
const shared = globalThis[Symbol.for('sentiment-api.test.nestjs-core')];
if (!shared) throw new Error('test/support/share-nestjs-common.ts must run first (jest setupFilesAfterEnv)');
module.exports = shared;
