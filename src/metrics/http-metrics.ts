import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Counter, Histogram } from 'prom-client';
import { traceExemplar } from './exemplars.js';
import { METRIC, METRICS_PATH } from './metric-names.js';
import { InjectMetric } from './metrics-registry.js';

/** Route label for requests no route matched, so unknown URLs cannot grow the label set. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Counts and times every HTTP response in a Fastify onResponse hook, which also sees the answers
 * given before any Nest handler runs (400, 413, 415, 404). Labelled with the route template
 * (`/v1/sentiment/predict`), never the raw URL.
 */
@Injectable()
export class HttpMetrics implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @InjectMetric(METRIC.httpRequests) private readonly requests: Counter,
    @InjectMetric(METRIC.httpRequestDuration) private readonly duration: Histogram,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      // The scrape route is not traffic: counting it would make every scrape change the numbers.
      if (route === METRICS_PATH) return;
      const labels = { method: request.method, route, status: String(reply.statusCode) };
      this.requests.inc(labels);
      this.duration.observe({ labels, value: reply.elapsedTime / 1000, exemplarLabels: traceExemplar() });
    });
  }
}
