import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import { Registry, register } from 'prom-client';
import { Protected } from '../auth/route-access.js';
import { acceptsOpenMetrics, openMetricsExposition } from './exemplars.js';

/**
 * The library's scrape endpoint, kept out of the public OpenAPI contract. `METRICS_API_KEY` closes
 * it (a key of its own: the API keys do not open it); never rate limited, Prometheus scrapes on its
 * own schedule. Prometheus text format unless the scraper asks for OpenMetrics, the only format
 * that carries the latency histograms' exemplars (trace ids).
 */
@ApiExcludeController()
@Controller()
@Protected({ realm: 'metrics', rateLimited: false })
export class MetricsController extends PrometheusController {
  @Get()
  override index(@Res({ passthrough: true }) reply: FastifyReply, @Headers('accept') accept?: string): Promise<string> {
    void reply.header('vary', 'accept');
    if (!acceptsOpenMetrics(accept)) return super.index(reply);
    void reply.header('content-type', Registry.OPENMETRICS_CONTENT_TYPE);
    return openMetricsExposition(register);
  }
}
