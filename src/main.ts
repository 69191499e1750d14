import { restartWithHeapFlags } from './bootstrap/heap-flags.js';
import { startTracing } from './telemetry/tracing.js';

restartWithHeapFlags();

// The app is imported only once tracing has started (when an OTLP endpoint is set): the
// instrumentations patch ES modules through a loader hook that sees only later imports. Doing it
// here rather than with `node --import` keeps one start command, `node dist/main.js`, for npm
// start, the image, the tests and the benchmarks.
await startTracing();
const { serve } = await import('./bootstrap/serve.js');
await serve();
