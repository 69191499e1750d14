import type { Tracer } from '@opentelemetry/api';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { ParentBasedTracer } from './spans.js';

/** The @nestjs/core majors whose patched internals (NestFactoryStatic.create, RouterExecutionContext.create) it fits. */
const NEST_CORE_VERSIONS = ['>=4.0.0 <13'];

/**
 * The maintained NestJS instrumentation (app creation span, and a span per request named after the
 * controller method), with two changes:
 * - Its version gate is widened to NestJS 12. Its latest release (0.71) gates at `<12` although the
 *   two methods it wraps are unchanged in 12; the upstream fix (open-telemetry/opentelemetry-js-contrib#3733)
 *   widens the gate the same way and leaves ES module apps, like this one, patched through the loader
 *   hook as before. `init` goes once a release includes it (issue #24).
 * - Below a span that records nothing it starts no span (ParentBasedTracer), so a request that is not
 *   sampled does not pay for one.
 */
export class NestCoreInstrumentation extends NestInstrumentation {
  protected override get tracer(): Tracer {
    return new ParentBasedTracer(super.tracer);
  }

  override init(): ReturnType<NestInstrumentation['init']> {
    const definition = super.init();
    definition.supportedVersions = NEST_CORE_VERSIONS;
    for (const file of definition.files) file.supportedVersions = NEST_CORE_VERSIONS;
    return definition;
  }
}
