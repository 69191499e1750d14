/**
 * The direction of dependencies in src/ (issue #15), checked by `npm run lint`: no cycles between
 * files, shared HTTP pieces and shared helpers import no feature module, and nothing reaches up into
 * the bootstrap (app construction, OpenAPI document, main).
 */
const FEATURES = '^src/(auth|cache|config|health|inference|metrics|model|rate-limit|redis|sentiment)/';
const BOOTSTRAP = '^src/(main\\.ts|app\\.module\\.ts|bootstrap/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes the request path run both ways; break it by moving the shared piece down.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'shared-http-imports-no-feature',
      severity: 'error',
      comment: 'src/http holds shared HTTP pieces (problem details, request ids, logging, hooks).',
      from: { path: '^src/http/', pathNot: BOOTSTRAP },
      to: { path: FEATURES, pathNot: '^src/config/' },
    },
    {
      name: 'common-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^src/common/' },
      to: { path: '^src/', pathNot: '^src/common/' },
    },
    {
      name: 'nothing-imports-bootstrap',
      severity: 'error',
      comment: 'Bootstrap sits above the modules: modules never import it.',
      from: { path: '^src/', pathNot: BOOTSTRAP },
      to: { path: BOOTSTRAP },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
