import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { usableCpuCount } from '../../src/model/cpu-budget.js';

export interface MachineDescription {
  cpuModel: string;
  logicalCpus: number;
  /** CPUs the service may use (cgroup quota included): ONNX Runtime's thread count. */
  usableCpus: number;
  memoryGiB: number;
  os: string;
  node: string;
  onnxruntimeNode: string;
  /** 1-minute load average when the run started: well above 0 means other work competed. */
  loadAverageAtStart: number;
}

/** The whole machine's CPU time so far (the `cpu` line of /proc/stat), in clock ticks. */
export interface CpuTimes {
  total: number;
  /** Time the hypervisor ran other guests while this VM had work: invisible to the load average. */
  steal: number;
}

/**
 * proc(5): `cpu user nice system idle iowait irq softirq steal guest guest_nice`; guest time is
 * already counted in user and nice, so the total is the first eight.
 */
export function parseCpuTimes(procStat: string): CpuTimes {
  const fields = procStat.slice(0, procStat.indexOf('\n')).trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 9) throw new Error(`not a /proc/stat cpu line: ${fields.join(' ')}`);
  const ticks = fields.slice(1, 9).map(Number);
  return { total: ticks.reduce((sum, value) => sum + value, 0), steal: ticks[7] };
}

export function readCpuTimes(): CpuTimes {
  return parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
}

/**
 * The share of the CPU time between two readings that went to steal: on a VM whose host is busy
 * every measurement is low (and ratios between measurements taken at different moments unreliable),
 * whatever the load average says.
 */
export function stealShare(start: CpuTimes, end: CpuTimes): number {
  const total = end.total - start.total;
  return total > 0 ? (end.steal - start.steal) / total : 0;
}

function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string };
  return manifest.version;
}

export function describeMachine(): MachineDescription {
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    logicalCpus: cpus().length,
    usableCpus: usableCpuCount(),
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
    loadAverageAtStart: loadavg()[0],
  };
}
