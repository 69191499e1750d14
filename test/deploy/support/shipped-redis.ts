import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { K8S_DIR } from './manifests.js';

/** Flags of a shipped Redis that name a file or folder of the pod, not of a test's machine. */
const POD_PATH_FLAGS = new Set(['--aclfile', '--dir']);

interface RedisWorkloadManifest {
  kind?: string;
  spec?: { template?: { spec?: { containers?: { name: string; args?: unknown[] }[] } } };
}

/** The `redis` container's arguments in deploy/k8s/base/<manifestFile>, as written there. */
export function shippedRedisContainerArgs(manifestFile: string): string[] {
  const path = join(K8S_DIR, 'base', manifestFile);
  const manifest = parse(readFileSync(path, 'utf8')) as RedisWorkloadManifest;
  const container = manifest.spec?.template?.spec?.containers?.find((candidate) => candidate.name === 'redis');
  if (!container?.args) throw new Error(`${path}: no redis container with args`);
  return container.args.map((arg) => {
    if (typeof arg !== 'string') throw new Error(`${path}: redis argument ${String(arg)} is not a string`);
    return arg;
  });
}

/**
 * The redis-server arguments deploy/k8s ships in deploy/k8s/base/<manifestFile> (one flag, then its
 * value), minus `--aclfile <file>` and `--dir <folder>`: paths in the pod, where a test uses no ACL
 * and picks its own folder. A local `redis-server` started with them runs as the cluster's does.
 */
export function shippedRedisArgs(manifestFile: string): string[] {
  const args = shippedRedisContainerArgs(manifestFile);
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith('--')) throw new Error(`${manifestFile}: expected a --flag, found ${args[i]}`);
    if (i + 1 >= args.length || args[i + 1].startsWith('--'))
      throw new Error(`${manifestFile}: ${args[i]} has no value (one flag, then its value)`);
    if (!POD_PATH_FLAGS.has(args[i])) kept.push(args[i], args[i + 1]);
    i++;
  }
  return kept;
}

/** The value following `flag` in shipped redis-server arguments, if the flag is there. */
export function redisArg(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

const REDIS_UNITS: Record<string, number> = { '': 1, k: 1e3, kb: 2 ** 10, m: 1e6, mb: 2 ** 20, g: 1e9, gb: 2 ** 30 };

/** A redis.conf memory size (`512mb`, `1gb`, `100m`, `0`) in bytes, as Redis reads it. */
export function redisMemoryBytes(text: string): number {
  const [, amount, unit] = /^(\d+)([kmg]b?)?$/i.exec(text) ?? [];
  if (amount === undefined) throw new Error(`not a Redis memory size: ${text}`);
  return Number(amount) * REDIS_UNITS[(unit ?? '').toLowerCase()];
}
