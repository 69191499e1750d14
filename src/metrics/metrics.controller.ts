import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Registry } from 'prom-client';
import { Protected } from '../auth/route-access.js';
import { acceptsOpenMetrics, openMetricsExposition } from './exemplars.js';
import { METRICS_PATH } from './metric-names.js';
import { METRICS_REGISTRY } from './metrics-registry.js';

/**
 * The scrape endpoint of the app's registry, kept out of the public OpenAPI contract.
 * `METRICS_API_KEY` closes it (a key of its own: the API keys do not open it); never rate limited,
 * Prometheus scrapes on its own schedule. Prometheus text format unless the scraper asks for
 * OpenMetrics, the only format that carries the latency histograms' exemplars (trace ids).
 */
@ApiExcludeController()
@Controller(METRICS_PATH)
@Protected({ realm: 'metrics', rateLimited: false })
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  index(@Res({ passthrough: true }) reply: FastifyReply, @Headers('accept') accept?: string): Promise<string> {
    void reply.header('vary', 'accept');
    if (!acceptsOpenMetrics(accept)) {
      void reply.header('content-type', this.registry.contentType);
      return this.registry.metrics();
    }
    void reply.header('content-type', Registry.OPENMETRICS_CONTENT_TYPE);
    return openMetricsExposition(this.registry);
  }
}
