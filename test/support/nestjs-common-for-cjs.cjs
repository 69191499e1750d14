// Stand-in for `require('@nestjs/common')` inside CommonJS dependencies under Jest; see jest-resolver.cjs.
const shared = globalThis[Symbol.for('sentiment-api.test.nestjs-common')];
if (!shared) throw new Error('test/support/share-nestjs-common.ts must run first (jest setupFilesAfterEnv)');
module.exports = shared;
