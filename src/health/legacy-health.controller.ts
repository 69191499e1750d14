import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Deprecated, ORIGINAL_ROUTES_DEPRECATED } from '../http/deprecation.js';
import { headerRef } from '../http/openapi-responses.js';
import { Readiness } from './readiness.js';

const statusSchema = (status: string) => ({
  type: 'object' as const,
  required: ['status'],
  properties: {
    status: { type: 'string' as const, enum: [status], description: 'Whether this replica should get traffic.' },
  },
  example: { status },
});

/**
 * The FastAPI original's health route, answered by the readiness rule: its monitors and load
 * balancers keep working, and stop sending traffic exactly when `/health/ready` would.
 */
@ApiTags('compatibility')
@Controller('project')
export class LegacyHealthController {
  constructor(private readonly readiness: Readiness) {}

  @Get('health')
  @Deprecated({ successor: '/health/ready', since: ORIGINAL_ROUTES_DEPRECATED })
  @ApiOperation({
    operationId: 'getProjectHealth',
    deprecated: true,
    summary: 'Readiness, as the FastAPI original answered it (use /health/ready)',
    description:
      '`{"status": "healthy"}` (200) when `/health/ready` would answer 200; `{"status": "unhealthy"}` (503) otherwise.',
  })
  @ApiOkResponse({
    description: 'Ready for traffic.',
    schema: statusSchema('healthy'),
    headers: { Deprecation: headerRef('Deprecation'), Link: headerRef('Link') },
  })
  @ApiServiceUnavailableResponse({
    description: 'Not ready: the model is loading or failed, or the process is shutting down.',
    schema: statusSchema('unhealthy'),
    headers: { Deprecation: headerRef('Deprecation'), Link: headerRef('Link') },
  })
  health(@Res({ passthrough: true }) reply: FastifyReply): { status: 'healthy' | 'unhealthy' } {
    // A probe's answer is about this moment: no proxy may serve it later.
    void reply.header('cache-control', 'no-store');
    if (this.readiness.ready) return { status: 'healthy' };
    void reply.status(503);
    return { status: 'unhealthy' };
  }
}
