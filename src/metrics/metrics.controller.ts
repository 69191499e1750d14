import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import { MetricsKeyGuard } from './metrics-key.guard.js';

/** The library's scrape endpoint, kept out of the public OpenAPI contract; `METRICS_API_KEY` closes it. */
@ApiExcludeController()
@Controller()
@UseGuards(MetricsKeyGuard)
export class MetricsController extends PrometheusController {
  @Get()
  override index(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return super.index(reply);
  }
}
