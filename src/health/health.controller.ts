import { Controller, Get, UseFilters } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DEFAULT_MODEL_ID as MODEL_ID } from '../config/settings.js';
import { HealthCheckFailedFilter } from './health-check-failed.filter.js';
import { HealthCheckResponses } from './health-check-responses.js';
import { ModelHealthIndicator } from './model.health.js';
import { Readiness } from './readiness.js';

@ApiTags('health')
@Controller('health')
@UseFilters(HealthCheckFailedFilter)
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly model: ModelHealthIndicator,
    private readonly readiness: Readiness,
  ) {}

  @Get('live')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    operationId: 'getLiveness',
    summary: 'Liveness probe',
    description:
      'Answers 200 whenever the process can serve requests. It does not depend on Redis, nor on the model ' +
      'loading: only a model worker lost and not brought back by MODEL_MAX_RESTARTS restarts in a row fails ' +
      'it (503), so the orchestrator replaces the process. A blocked event loop shows as a probe that gets no answer.',
  })
  @HealthCheckResponses({ process: { status: 'up', uptimeSeconds: 42 }, worker: { status: 'up' } })
  live(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.indicators.check('process').up({ uptimeSeconds: Math.round(process.uptime()) }),
      () => this.model.checkRepairable(),
    ]);
  }

  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    operationId: 'getReadiness',
    summary: 'Readiness probe',
    description:
      'Answers 200 once the model is loaded and warmed, 503 before that and again from the moment the ' +
      'process receives SIGTERM (it keeps serving requests while it drains). The `cache` indicator is ' +
      'informational: with the cache store down the status is `degraded` and the answer still 200.',
  })
  @HealthCheckResponses(
    {
      model: { status: 'up', id: MODEL_ID, state: 'ready' },
      lifecycle: { status: 'up', state: 'serving' },
      cache: { status: 'up', backend: 'redis', breaker: 'closed', store: 'up' },
    },
    {
      info: {
        lifecycle: { status: 'up', state: 'serving' },
        cache: { status: 'up', backend: 'redis', breaker: 'closed', store: 'up' },
      },
      error: { model: { status: 'down', id: MODEL_ID, state: 'loading' } },
    },
  )
  ready(): Promise<HealthCheckResult> {
    return this.health.check(this.readiness.checks());
  }
}
