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
