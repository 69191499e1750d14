// @willsoto/nestjs-prometheus is CommonJS and require()s @nestjs/common, which is ESM-only. Node 20
// allows that natively; Jest's module loader (before Node 24.9) does not. So for that one package,
// `@nestjs/common` resolves to a stand-in exporting the ESM module the test already loaded
// (see share-nestjs-common.ts): the same instance the application uses, not a second copy.
const { sep } = require('node:path');

// @nestjs/throttler likewise require()s @nestjs/common and @nestjs/core.
const REQUIRES_ESM_NEST = [
  `${sep}node_modules${sep}@willsoto${sep}nestjs-prometheus${sep}`,
  `${sep}node_modules${sep}@nestjs${sep}throttler${sep}`,
];
const NEST_FOR_CJS = {
  '@nestjs/common': require.resolve('./nestjs-common-for-cjs.cjs'),
  '@nestjs/core': require.resolve('./nestjs-core-for-cjs.cjs'),
};

module.exports = (request, options) => {
  const standIn = NEST_FOR_CJS[request];
  if (standIn && REQUIRES_ESM_NEST.some((dir) => `${options.basedir}${sep}`.includes(dir))) return standIn;
  return options.defaultResolver(request, options);
};
