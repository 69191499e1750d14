import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { METRIC } from '../../src/metrics/metric-names.js';

const readme = readFileSync('README.md', 'utf8');
const operating = readme.slice(
  readme.indexOf('## Operating'),
  readme.indexOf('\n## ', readme.indexOf('## Operating') + 1),
);

describe('the README "Operating" section', () => {
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
