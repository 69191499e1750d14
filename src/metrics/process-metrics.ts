import { collectDefaultMetrics, register } from 'prom-client';

/**
 * prom-client's process metrics (CPU, memory, heap, event-loop lag, GC), with their standard names
 * so existing Node.js dashboards work too. They live in the process-wide registry and can only be
 * registered once per process, while tests build several apps in one process.
 */
export function collectProcessMetricsOnce(): void {
  if (register.getSingleMetric('process_cpu_user_seconds_total')) return;
  collectDefaultMetrics();
}
