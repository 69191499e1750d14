// Preloaded into a server process (NODE_OPTIONS=--import) by tests that check what it loads: writes
// `sdk module loaded: <package>` to stderr the first time a module of the OpenTelemetry SDK, of an
// instrumentation or of the ESM loader hook is resolved. The API (@opentelemetry/api) is not one.
import { registerHooks } from 'node:module';

const SDK_PACKAGE =
  /\/node_modules\/((?:@opentelemetry\/(?:sdk-[^/]+|instrumentation[^/]*|exporter-[^/]+|resources|context-async-hooks))|import-in-the-middle|require-in-the-middle|@fastify\/otel|bullmq-otel)\//;
const reported = new Set();

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    const name = SDK_PACKAGE.exec(resolved.url)?.[1];
    if (name !== undefined && !reported.has(name)) {
      reported.add(name);
      process.stderr.write(`sdk module loaded: ${name}\n`);
    }
    return resolved;
  },
});
