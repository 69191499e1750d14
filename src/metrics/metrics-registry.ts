import { Inject, Module, type InjectionToken, type Provider } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Metric,
} from 'prom-client';

/** The app's metrics registry: what `GET /metrics` renders. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/**
 * One registry per app, holding every metric the app defines, and prom-client's process metrics
 * (CPU, memory, heap, event-loop lag, GC) under their standard names, so existing Node.js
 * dashboards work too. prom-client's process-wide default registry is never used: two apps in one
 * process share no metric.
 */
@Module({
  providers: [
    {
      provide: METRICS_REGISTRY,
      useFactory: () => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry });
        return registry;
      },
    },
  ],
  exports: [METRICS_REGISTRY],
})
export class MetricsRegistryModule {}

/** The injection token of the metric named `name`. */
export function metricToken(name: string): string {
  return `METRIC:${name}`;
}

/** Injects the metric named `name`, provided by one of the providers below. */
export const InjectMetric = (name: string) => Inject(metricToken(name));

/** Providers `collect` is called with at scrape time, to read a value from them. */
interface ReadAtScrape<M> {
  inject?: InjectionToken[];
  collect?: (this: M, ...injected: never[]) => void;
}

type MetricOptions<Configuration, M> = Omit<Configuration, 'registers' | 'collect'> & ReadAtScrape<M>;

function metricProvider<M extends Metric>(
  name: string,
  inject: InjectionToken[] = [],
  create: (registry: Registry, injected: never[]) => M,
): Provider {
  return {
    provide: metricToken(name),
    inject: [METRICS_REGISTRY, ...inject],
    useFactory: (registry: Registry, ...injected: never[]) => create(registry, injected),
  };
}

/**
 * A metric that may read its value at scrape time: `collect` runs with the metric as `this` and
 * the injected providers as arguments.
 */
function collectingMetricProvider<M extends Counter | Gauge>(
  name: string,
  { inject, collect }: ReadAtScrape<M>,
  create: (registry: Registry, collect: ((this: M) => void) | undefined) => M,
): Provider {
  return metricProvider(name, inject, (registry, injected) =>
    create(
      registry,
      collect &&
        function (this: M) {
          collect.apply(this, injected);
        },
    ),
  );
}

export const counterProvider = ({
  inject,
  collect,
  ...configuration
}: MetricOptions<CounterConfiguration<string>, Counter>): Provider =>
  collectingMetricProvider(
    configuration.name,
    { inject, collect },
    (registry, read) => new Counter({ ...configuration, registers: [registry], collect: read }),
  );

export const gaugeProvider = ({
  inject,
  collect,
  ...configuration
}: MetricOptions<GaugeConfiguration<string>, Gauge>): Provider =>
  collectingMetricProvider(
    configuration.name,
    { inject, collect },
    (registry, read) => new Gauge({ ...configuration, registers: [registry], collect: read }),
  );

/**
 * A histogram; with `enableExemplars`, one that keeps an exemplar per bucket. prom-client refuses
 * exemplars on a metric constructed into a Prometheus-format registry, because that format cannot
 * carry them: such a histogram is registered after construction instead, and only the OpenMetrics
 * exposition prints them.
 */
export function histogramProvider(
  configuration: Omit<HistogramConfiguration<string>, 'registers' | 'collect'>,
): Provider {
  return metricProvider(configuration.name, [], (registry) => {
    if (!configuration.enableExemplars) return new Histogram({ ...configuration, registers: [registry] });
    const histogram = new Histogram({ ...configuration, registers: [] });
    registry.registerMetric(histogram);
    return histogram;
  });
}
