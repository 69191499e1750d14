import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import { Protected } from '../auth/route-access.js';

/**
 * The library's scrape endpoint, kept out of the public OpenAPI contract. `METRICS_API_KEY` closes
 * it (a key of its own: the API keys do not open it); never rate limited, Prometheus scrapes on its
 * own schedule.
 */
@ApiExcludeController()
@Controller()
@Protected({ realm: 'metrics', rateLimited: false })
export class MetricsController extends PrometheusController {
  @Get()
  override index(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return super.index(reply);
  }
}
