import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}

interface Workflow {
  jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
}

const read = (path: string) => readFileSync(join(process.cwd(), path), 'utf8');
const workflow = parse(read('.github/workflows/k6.yml')) as Workflow;
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);

describe('the k6 workflow (.github/workflows/k6.yml)', () => {
  it('installs one pinned k6 release, not whatever is latest', () => {
    const setups = steps.filter((step) => step.uses?.startsWith('grafana/setup-k6-action@'));
    expect(setups).toHaveLength(1);
    expect(setups[0].with?.['k6-version']).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('pins the k6 release whose API @types/k6 (the k6:typecheck) describes', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version: string }> };
    const types = lock.packages['node_modules/@types/k6'].version;
    const pinned = steps.find((step) => step.uses?.startsWith('grafana/setup-k6-action@'))?.with?.['k6-version'];
    const minor = (version: string | undefined) => version?.split('.').slice(0, 2).join('.');
    expect(minor(pinned)).toBe(minor(types));
  });

  it('runs the scenarios against a service with an API key that k6 sends, and a budget above the load', () => {
    const job = Object.values(workflow.jobs)[0];
    expect(job.env?.ALLOW_ANONYMOUS).toBeUndefined();
    const keyStep = steps.find((step) => step.run?.includes('API_KEYS='));
    expect(keyStep?.run).toMatch(/echo "API_KEYS=\$api_key" >> "\$GITHUB_ENV"/);
    expect(keyStep?.run).toMatch(/echo "API_KEY=\$api_key" >> "\$GITHUB_ENV"/);
    // RATE (requests/s) of the load step, as requests per minute, within the per-key budget.
    const load = steps.find((step) => step.with?.path === 'k6/scenarios/load.ts');
    const rate = Number(/-e RATE=(\d+)/.exec(load?.with?.flags ?? '')?.[1]);
    expect(rate * 60).toBeLessThan(Number(job.env?.RATE_LIMIT_PER_MINUTE));
  });
});
