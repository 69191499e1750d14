import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * How many CPUs this process may really use: the scheduler's view, capped by a cgroup CPU
 * quota (a Kubernetes CPU limit), so ONNX Runtime does not start more threads than it gets.
 */
export function usableCpuCount(): number {
  const cpus = availableParallelism();
  const quota = cgroupCpuQuota();
  return Math.max(1, quota === undefined ? cpus : Math.min(cpus, Math.ceil(quota)));
}

function cgroupCpuQuota(): number | undefined {
  // cgroup v2: "<quota> <period>" or "max <period>"
  const v2 = readOrUndefined('/sys/fs/cgroup/cpu.max')?.split(/\s+/);
  if (v2 && v2[0] !== 'max') return Number(v2[0]) / Number(v2[1]);
  // cgroup v1
  const quota = Number(readOrUndefined('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(readOrUndefined('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  return quota > 0 && period > 0 ? quota / period : undefined;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
