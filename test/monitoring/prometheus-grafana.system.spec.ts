import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { TEST_OUTPUT_DIR } from '../support/paths.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { promtool, startPrometheus, type PrometheusServer } from '../support/prometheus-server.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const MONITORING = join(process.cwd(), 'deploy', 'monitoring');
const PLAIN_CONFIG = join(MONITORING, 'prometheus', 'prometheus.yml');
const KUBERNETES_CONFIG = join(MONITORING, 'prometheus', 'prometheus-kubernetes.yml');
const RULES = join(MONITORING, 'prometheus', 'sentiment-api-alerts.yml');
const RULE_TESTS = join(MONITORING, 'prometheus', 'sentiment-api-alerts.test.yml');
const DASHBOARD = join(MONITORING, 'grafana', 'dashboards', 'sentiment-api.json');
const GRAFANA_DATASOURCE = join(MONITORING, 'grafana', 'provisioning', 'datasources', 'prometheus.yml');
const GRAFANA_DASHBOARDS = join(MONITORING, 'grafana', 'provisioning', 'dashboards', 'sentiment-api.yml');

const PLAIN_JOB = 'sentiment-api';
const KUBERNETES_JOB = 'sentiment-api-pods';
/** What Grafana puts in for $__rate_interval here: several of the test's 1 s scrapes. */
const RATE_INTERVAL = '30s';

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[] }[];
  kubernetes_sd_configs?: unknown[];
  file_sd_configs?: { files: string[] }[];
  [key: string]: unknown;
}
interface PrometheusConfig {
  global?: Record<string, string>;
  rule_files: string[];
  scrape_configs: ScrapeConfig[];
}
interface Panel {
  id: number;
  title: string;
  type: string;
  datasource: { type: string; uid: string };
  targets: { refId: string; expr: string; instant?: boolean; exemplar?: boolean }[];
}
interface Datasource {
  name: string;
  type: string;
  uid: string;
  jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid?: string }[] };
}
interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}
interface Rule {
  alert: string;
  expr: string;
}
interface QueryResult {
  resultType: string;
  result: { metric: Record<string, string>; value: [number, string] }[];
}
interface Target {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapeUrl: string;
  health: string;
}

const readYaml = <T>(file: string): T => parse(readFileSync(file, 'utf8')) as T;
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
};
/** Panel queries Grafana asks exemplars for (Prometheus' query_exemplars, with the panel's PromQL). */
const exemplarQueries = dashboard.panels.flatMap((panel) =>
  panel.targets
    .filter((target) => target.exemplar)
    .map((target) => [`${panel.title} (${target.refId})`, target.expr] as const),
);
const rules = readYaml<{ groups: { name: string; rules: Rule[] }[] }>(RULES).groups.flatMap((group) => group.rules);

/** The PromQL Grafana would send for a panel query, with the dashboard variables filled in. */
function asGrafanaSends(expr: string): string {
  const query = expr.replaceAll('$job', PLAIN_JOB).replaceAll('$__rate_interval', RATE_INTERVAL);
  expect(query).not.toContain('$');
  return query;
}

/** Metric names a PromQL expression reads (label matchers, grouping labels and functions left out). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'on']);
  return [...bare.matchAll(/\b([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)]
    .map((match) => match[1])
    .filter((name) => !keywords.has(name) && !/^\d/.test(name) && name !== 'Inf');
}

const pods = (port: number) => [
  // The service's pod: the address Kubernetes discovers has another port; the annotation gives the right one.
  {
    targets: ['127.0.0.1:9'],
    labels: {
      __meta_kubernetes_namespace: 'sentiment',
      __meta_kubernetes_pod_name: 'sentiment-api-7d9f8-abcde',
      __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_label_app_kubernetes_io_name: 'sentiment-api',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_annotation_prometheus_io_port: String(port),
      __meta_kubernetes_pod_annotation_prometheus_io_path: '/metrics',
    },
  },
  // Annotated, but another application.
  {
    targets: ['127.0.0.2:8080'],
    labels: {
      __meta_kubernetes_namespace: 'other',
      __meta_kubernetes_pod_name: 'other-app-1',
      __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_label_app_kubernetes_io_name: 'other-app',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
    },
  },
  // The service, but not annotated for scraping.
  {
    targets: ['127.0.0.3:8000'],
    labels: {
      __meta_kubernetes_namespace: 'sentiment',
      __meta_kubernetes_pod_name: 'sentiment-api-unannotated',
      __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_label_app_kubernetes_io_name: 'sentiment-api',
    },
  },
  // The service, but a pod that has finished.
  {
    targets: ['127.0.0.4:8000'],
    labels: {
      __meta_kubernetes_namespace: 'sentiment',
      __meta_kubernetes_pod_name: 'sentiment-api-old',
      __meta_kubernetes_pod_phase: 'Succeeded',
      __meta_kubernetes_pod_label_app_kubernetes_io_name: 'sentiment-api',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_annotation_prometheus_io_port: '8000',
    },
  },
];

describe('committed monitoring files, checked by promtool', () => {
  it('promtool accepts the Prometheus configuration and the alert rules', async () => {
    expect(await promtool('check', 'config', PLAIN_CONFIG)).toMatch(/SUCCESS/);
    expect(await promtool('check', 'rules', RULES)).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('the alert rules pass their unit tests (each alert fires when it should, and only then)', async () => {
    expect(await promtool('test', 'rules', RULE_TESTS)).toMatch(/SUCCESS/);
    const tested = new Set([...readFileSync(RULE_TESTS, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    expect([...tested].sort()).toEqual(rules.map((rule) => rule.alert).sort());
  });

  it('the Kubernetes configuration discovers pods and loads the same rules as the plain one', () => {
    const kubernetes = readYaml<PrometheusConfig>(KUBERNETES_CONFIG);
    const plain = readYaml<PrometheusConfig>(PLAIN_CONFIG);
    expect(kubernetes.rule_files).toEqual(plain.rule_files);
    expect(kubernetes.global).toEqual(plain.global);
    expect(kubernetes.scrape_configs.map((job) => job.job_name)).toEqual([KUBERNETES_JOB]);
    expect(kubernetes.scrape_configs[0].kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
  });

  it('Grafana provisioning names a Prometheus datasource and the dashboard folder; panels use the datasource variable', () => {
    const datasources = readYaml<{ datasources: Datasource[] }>(GRAFANA_DATASOURCE).datasources;
    expect(datasources.filter((datasource) => datasource.type === 'prometheus')).toEqual([
      expect.objectContaining({ uid: expect.any(String) }),
    ]);
    const providers = readYaml<{ providers: { type: string; options: { path: string } }[] }>(
      GRAFANA_DASHBOARDS,
    ).providers;
    expect(providers).toEqual([expect.objectContaining({ type: 'file', options: { path: expect.any(String) } })]);

    expect(dashboard.templating.list.find((variable) => variable.name === 'datasource')).toEqual(
      expect.objectContaining({ type: 'datasource', query: 'prometheus' }),
    );
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets.length).toBeGreaterThan(0);
    }
  });

  it("Grafana links an exemplar's trace_id to the provisioned trace datasource, and the latency panels show exemplars", () => {
    const datasources = readYaml<{ datasources: Datasource[] }>(GRAFANA_DATASOURCE).datasources;
    const prometheusSource = datasources.find((datasource) => datasource.type === 'prometheus')!;
    const destinations = prometheusSource.jsonData?.exemplarTraceIdDestinations ?? [];
    expect(destinations).toEqual([expect.objectContaining({ name: 'trace_id' })]);
    const traces = datasources.find((datasource) => datasource.uid === destinations[0].datasourceUid);
    expect(traces).toEqual(expect.objectContaining({ type: expect.stringMatching(/^(tempo|jaeger)$/) as string }));
    // The trace store's address comes from Grafana's environment, not from this file.
    expect(readFileSync(GRAFANA_DATASOURCE, 'utf8')).toMatch(/url: \$TRACES_URL/);

    expect(exemplarQueries.map(([panel]) => panel)).toEqual(
      expect.arrayContaining(['Predict latency (A)', 'Predict latency (C)', 'Model call time (B)']),
    );
    for (const [, expr] of exemplarQueries) expect(expr).toMatch(/_duration_seconds_bucket\{/);
  });
});

describe('the dashboard and the alerts against a real Prometheus scraping the running service', () => {
  let service: ServerProcess;
  let redis: RedisServer;
  let prometheus: PrometheusServer;
  let receiver: OtlpReceiver;
  let traffic: Promise<void>;
  let driving = true;
  const startedAt = Date.now() / 1000;

  /** Steady traffic of every kind the panels show: new and repeated texts, bad requests, probes. */
  async function driveTraffic(): Promise<void> {
    const post = (body: unknown) =>
      fetch(`${service.baseUrl}/v1/sentiment/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((response) => response.arrayBuffer());
    for (let i = 0; driving; i++) {
      await post({ text: [`review ${i} was great`, `review ${i % 5} was awful`, 'the same text every time'] });
      if (i % 10 === 0) await post({ text: 'not a list' });
      if (i % 10 === 5) await fetch(`${service.baseUrl}/v1/model`).then((response) => response.arrayBuffer());
      // A small bulk job now and then, for the jobs panels.
      if (i % 50 === 0) {
        const lines = Array.from({ length: 300 }, (_, j) => JSON.stringify({ text: `bulk ${i} review ${j}` }));
        await fetch(`${service.baseUrl}/v1/sentiment/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: lines.join('\n'),
        }).then((response) => response.arrayBuffer());
      }
      await sleep(20);
    }
  }

  async function query(promql: string): Promise<QueryResult> {
    return prometheus.api<QueryResult>('query', { query: promql });
  }

  beforeAll(async () => {
    // With Redis, so the bulk job metrics are exported too.
    redis = await startRedisServer();
    // Traced, every request sampled, so the latency histograms carry exemplars to look up.
    receiver = await startOtlpReceiver();
    service = await startServerProcess('monitoring', {
      REDIS_URL: redis.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    const port = Number(new URL(service.baseUrl).port);
    const dir = join(TEST_OUTPUT_DIR, 'prometheus');
    mkdirSync(dir, { recursive: true });

    // The committed jobs, with the service's test address, 1 s scrapes, and the pod discovery fed
    // from a file (Debian's Prometheus is built without Kubernetes discovery; the relabelling is the same).
    const plainJob = readYaml<PrometheusConfig>(PLAIN_CONFIG).scrape_configs.find((job) => job.job_name === PLAIN_JOB)!;
    const kubernetesJob = readYaml<PrometheusConfig>(KUBERNETES_CONFIG).scrape_configs[0];
    const podsFile = join(dir, `pods-${port}.json`);
    writeFileSync(podsFile, JSON.stringify(pods(port), null, 2));
    const { kubernetes_sd_configs: _discovery, ...podsJob } = kubernetesJob;
    const config: PrometheusConfig = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [RULES],
      scrape_configs: [
        { ...plainJob, static_configs: [{ targets: [`127.0.0.1:${port}`] }] },
        { ...podsJob, file_sd_configs: [{ files: [podsFile] }] },
      ],
    };
    const configFile = join(dir, `prometheus-${port}.yml`);
    writeFileSync(configFile, stringify(config));
    await promtool('check', 'config', configFile);

    prometheus = await startPrometheus('monitoring', configFile, { features: ['exemplar-storage'] });
    traffic = driveTraffic();

    // rate() needs at least two samples of traffic in its window; wait for plenty.
    const deadline = performance.now() + 45_000;
    for (;;) {
      const scrapes = await query(`min(count_over_time(up{job=~"${PLAIN_JOB}|${KUBERNETES_JOB}"}[1m]))`);
      const requests = await query(`sum(rate(sentiment_http_requests_total{job="${PLAIN_JOB}"}[${RATE_INTERVAL}]))`);
      if (Number(scrapes.result[0]?.value[1] ?? 0) >= 8 && Number(requests.result[0]?.value[1] ?? 0) > 0) break;
      if (performance.now() > deadline) throw new Error('Prometheus did not collect enough scrapes in 45 s');
      await sleep(500);
    }
  }, 90_000);

  afterAll(async () => {
    driving = false;
    await traffic;
    await prometheus?.stop();
    await service?.stop();
    await receiver?.close();
    await redis?.stop();
  });

  it('scrapes the service with the plain job', async () => {
    const { activeTargets } = await prometheus.api<{ activeTargets: Target[] }>('targets', { state: 'active' });
    const plain = activeTargets.filter((target) => target.labels.job === PLAIN_JOB);
    expect(plain).toEqual([expect.objectContaining({ health: 'up', scrapeUrl: `${service.baseUrl}/metrics` })]);
  });

  it('scrapes OpenMetrics: the latency panels find exemplars whose trace ids are traces the service exported', async () => {
    for (const [panel, expr] of exemplarQueries) {
      const series = await prometheus.api<ExemplarSeries[]>('query_exemplars', {
        query: asGrafanaSends(expr),
        start: String(startedAt),
        end: String(Date.now() / 1000),
      });
      const traceIds = [...new Set(series.flatMap((one) => one.exemplars.map((exemplar) => exemplar.labels.trace_id)))];
      expect({ panel, exemplars: traceIds.length > 0 }).toEqual({ panel, exemplars: true });
      for (const traceId of traceIds) expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      // A link to a trace the trace store has: the ones an exemplar names reached the receiver.
      const exported = new Set(receiver.spans.map((span) => span.traceId));
      expect(traceIds.filter((traceId) => exported.has(traceId)).length).toBeGreaterThan(0);
    }
  });

  it('finds the service pod through the Kubernetes job: annotations give port and path, labels pod and namespace', async () => {
    const { activeTargets, droppedTargets } = await prometheus.api<{
      activeTargets: Target[];
      droppedTargets: Target[];
    }>('targets');
    const found = activeTargets.filter((target) => target.labels.job === KUBERNETES_JOB);
    expect(found).toEqual([
      expect.objectContaining({
        health: 'up',
        scrapeUrl: `${service.baseUrl}/metrics`,
        labels: {
          job: KUBERNETES_JOB,
          instance: new URL(service.baseUrl).host,
          namespace: 'sentiment',
          pod: 'sentiment-api-7d9f8-abcde',
        },
      }),
    ]);
    const dropped = droppedTargets.filter((target) => target.discoveredLabels.job === KUBERNETES_JOB);
    expect(dropped.map((target) => target.discoveredLabels.__meta_kubernetes_pod_name).sort()).toEqual([
      'other-app-1',
      'sentiment-api-old',
      'sentiment-api-unannotated',
    ]);
  });

  const panelQueries = dashboard.panels.flatMap((panel) =>
    panel.targets.map((target) => [`${panel.title} (${target.refId})`, target.expr] as const),
  );

  it.each(panelQueries)('dashboard panel "%s" is valid PromQL and shows data', async (_panel, expr) => {
    const { result } = await query(asGrafanaSends(expr));
    expect(result.length).toBeGreaterThan(0);
    expect(result.some((series) => Number.isFinite(Number(series.value[1])))).toBe(true);
  });

  it.each(rules.map((rule) => [rule.alert, rule.expr] as const))(
    'alert %s is valid PromQL for Prometheus',
    async (_alert, expr) => {
      const { resultType } = await query(expr);
      expect(resultType).toBe('vector');
    },
  );

  it('Prometheus loaded every alert rule and evaluates each without error', async () => {
    let loaded: { name: string; health: string; lastError?: string; lastEvaluation: string }[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const { groups } = await prometheus.api<{ groups: { rules: (typeof loaded)[number][] }[] }>('rules', {
        type: 'alert',
      });
      loaded = groups.flatMap((group) => group.rules);
      if (loaded.every((rule) => Date.parse(rule.lastEvaluation) / 1000 > startedAt)) break;
      await sleep(200);
    }
    expect(loaded.map((rule) => rule.name).sort()).toEqual(rules.map((rule) => rule.alert).sort());
    for (const rule of loaded)
      expect({ name: rule.name, health: rule.health, lastError: rule.lastError ?? '' }).toEqual({
        name: rule.name,
        health: 'ok',
        lastError: '',
      });
  });

  it('panels and alerts read only metrics the service exports', async () => {
    const exported = new Set(
      await prometheus.api<string[]>('label/__name__/values', { 'match[]': `{job="${PLAIN_JOB}"}` }),
    );
    const used = [...panelQueries.map(([, expr]) => expr), ...rules.map((rule) => rule.expr)].flatMap(metricNames);
    expect(used.length).toBeGreaterThan(10);
    expect([...new Set(used)].filter((name) => !exported.has(name))).toEqual([]);
  });
});
