// @nestjs/throttler is CommonJS and require()s @nestjs/common and @nestjs/core, which are ESM-only.
// Node 20 allows that natively; Jest's module loader (before Node 24.9) does not. So for that one
// package, they resolve to stand-ins exporting the ESM modules the test already loaded (see
// share-nestjs-common.ts): the same instances the application uses, not second copies.
const { sep } = require('node:path');

const REQUIRES_ESM_NEST = [`${sep}node_modules${sep}@nestjs${sep}throttler${sep}`];
const NEST_FOR_CJS = {
  '@nestjs/common': require.resolve('./nestjs-common-for-cjs.cjs'),
  '@nestjs/core': require.resolve('./nestjs-core-for-cjs.cjs'),
};

module.exports = (request, options) => {
  const standIn = NEST_FOR_CJS[request];
  if (standIn && REQUIRES_ESM_NEST.some((dir) => `${options.basedir}${sep}`.includes(dir))) return standIn;
  return options.defaultResolver(request, options);
};
