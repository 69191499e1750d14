/**
 * The direction of dependencies in src/ (issue #15), checked by `npm run lint`: no cycles between
 * files, shared HTTP pieces, shared helpers and telemetry import no feature module, the baseline
 * model generator stands alone below the model module, and nothing reaches up into the bootstrap
 * (app construction, OpenAPI document, main).
 */
const FEATURES = '^src/(auth|baseline-model|cache|config|health|inference|metrics|model|rate-limit|redis|sentiment)/';
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
      name: 'telemetry-imports-nothing-above-it',
      severity: 'error',
      comment:
        'src/telemetry (the tracing set-up, the request context, our spans) is used by http/ and the ' +
        'feature modules; it uses only src/common, so it can start before the app is imported.',
      from: { path: '^src/telemetry/' },
      to: { path: '^src/', pathNot: '^src/(telemetry|common)/' },
    },
    {
      name: 'baseline-model-stands-alone',
      severity: 'error',
      comment:
        'The baseline model generator is a library, not a module: the Dockerfile builds the model from ' +
        'src/baseline-model alone, and only the model resolution (MODEL_FALLBACK=baseline) imports it.',
      from: { path: '^src/baseline-model/' },
      to: { path: '^src/', pathNot: '^src/baseline-model/' },
    },
    {
      name: 'only-the-model-imports-the-baseline-generator',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(baseline-model|model)/' },
      to: { path: '^src/baseline-model/' },
    },
    {
      name: 'request-path-runs-one-way',
      severity: 'error',
      comment:
        'guards → pipe → controller → service → cache → inference (scheduler) → model: a layer never ' +
        'imports one above it; results come back as return values, not callbacks.',
      from: { path: '^src/(model|inference|cache)/' },
      to: {
        path: '^src/(auth|sentiment|jobs|health|metrics|rate-limit)/',
      },
    },
    {
      name: 'model-and-inference-know-no-cache',
      severity: 'error',
      from: { path: '^src/(model|inference)/' },
      to: { path: '^src/cache/' },
    },
    {
      name: 'model-knows-no-scheduler',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { path: '^src/inference/' },
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
