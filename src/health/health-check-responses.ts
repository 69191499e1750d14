import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, type SchemaObject } from '@nestjs/swagger';

type Indicators = Record<string, { status: 'up' | 'degraded' | 'down' } & Record<string, unknown>>;

/** One entry per indicator, keyed by its name (`model`, `lifecycle`, ...). */
function indicatorsSchema(description: string): SchemaObject {
  return {
    type: 'object',
    description,
    additionalProperties: {
      type: 'object',
      description: 'One indicator: its status and what it reports (for `model`: `id`, `state`, `failureReason`).',
      required: ['status'],
      properties: {
        status: {
          type: 'string',
          enum: ['up', 'degraded', 'down'],
          description: '`up`; `degraded`: working but impaired (does not fail the check); `down`: fails the check.',
        },
      },
      additionalProperties: true,
    },
  };
}

function resultSchema(status: string[]): SchemaObject {
  return {
    type: 'object',
    required: ['status', 'details'],
    properties: {
      status: {
        type: 'string',
        enum: status,
        description: '`ok`: every indicator up; `degraded`: one is impaired; `error`: one is down.',
      },
      info: indicatorsSchema('The indicators that are up or degraded, by name.'),
      error: indicatorsSchema('The indicators that are down, by name.'),
      details: indicatorsSchema('Every indicator, by name.'),
    },
  };
}

/**
 * The terminus result body for 200 and (when the check can fail) 503, described here rather than
 * by terminus' `@HealthCheck()`, whose documentation depends on how `@nestjs/swagger` is loaded.
 */
export function HealthCheckResponses(healthy: Indicators, unhealthy?: { info: Indicators; error: Indicators }) {
  const decorators = [
    ApiOkResponse({
      description: 'Healthy.',
      schema: resultSchema(['ok', 'degraded']),
      example: { status: 'ok', info: healthy, error: {}, details: healthy },
    }),
  ];
  if (unhealthy) {
    decorators.push(
      ApiServiceUnavailableResponse({
        description: 'Not healthy: `error` names the failing indicators.',
        schema: resultSchema(['error']),
        example: {
          status: 'error',
          info: unhealthy.info,
          error: unhealthy.error,
          details: { ...unhealthy.info, ...unhealthy.error },
        },
      }),
    );
  }
  return applyDecorators(...decorators);
}
