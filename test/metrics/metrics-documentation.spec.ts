import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { METRIC } from '../../src/metrics/metric-names.js';

const operating = readFileSync('docs/OPERATING.md', 'utf8');

describe('docs/OPERATING.md', () => {
  it.each(Object.values(METRIC))('documents the metric %s in the metrics table', (name) => {
    expect(operating).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, 'm'));
  });

  it('lists every alert rule', () => {
    const rules = parse(readFileSync('deploy/monitoring/prometheus/sentiment-api-alerts.yml', 'utf8')) as {
      groups: { rules: { alert: string }[] }[];
    };
    for (const { alert } of rules.groups.flatMap((group) => group.rules)) expect(operating).toContain(`\`${alert}\``);
  });
});
