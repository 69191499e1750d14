// Builds the production image from the Dockerfile and runs it, the way CI can without a Docker
// engine: podman builds (chroot isolation, host network), buildah runs the image's own entrypoint
// and command on the image's filesystem as the image's user. Then it checks what a container
// platform relies on and writes a JSON report:
//   - every process of the container runs as the image's non-root numeric user;
//   - GET /health/ready turns 200 once the baked-in model is loaded; a prediction answers;
//   - the image's HEALTHCHECK command passes;
//   - SIGTERM to the entrypoint (what Kubernetes and Docker send) ends it with exit code 0;
//   - the image size, what dominates it, and that it stays under the limit.
//
//   tsx scripts/container-smoke.ts [--image sentiment-api:ci] [--model-source baseline|hub]
//                                  [--report test-output/container-smoke/report.json] [--max-size-mb 900]
//
// Needs root, podman, buildah and runc (and debootstrap when the base image must be stood in for:
// scripts/container-base-image.sh). Exits 1 when a check fails; the report says which.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const PODMAN = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
const READY_PATH = '/health/ready';
const READY_TIMEOUT_MS = 180_000;
/** The smoke run drains briefly; the image's default drain is the app's (SHUTDOWN_DRAIN_MS). */
const SMOKE_DRAIN_MS = 500;
const EXIT_TIMEOUT_MS = 30_000;
const MB = 1_000_000;

export interface ContainerProcess {
  pid: number;
  uid: number;
  command: string;
}

export interface SizeShare {
  path: string;
  bytes: number;
}

export interface SmokeReport {
  image: string;
  modelSource: string;
  buildSeconds: number;
  config: { user: string; entrypoint: string[]; cmd: string[]; healthcheck: string[]; env: string[] };
  processes: ContainerProcess[];
  readiness: { path: string; status: number; seconds: number };
  prediction: { status: number; body: unknown };
  healthcheckExitCode: number | null;
  shutdown: { signal: 'SIGTERM'; exitCode: number | null; seconds: number };
  size: { bytes: number; limitBytes: number; shares: SizeShare[]; largestPackages: SizeShare[] };
  failures: string[];
}

interface ImageConfig {
  User?: string;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[];
}

const log = (message: string) => process.stderr.write(`[container-smoke] ${message}\n`);

async function output(command: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { maxBuffer: 64 * MB });
  return stdout.trim();
}

/** Runs a command with its output in a log file; resolves with its exit code. */
function runLogged(command: string, args: string[], logFile: string): Promise<number | null> {
  const fd = openSync(logFile, 'w');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('exit', (code) => {
      closeSync(fd);
      done(code);
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((done) => child.once('exit', (code) => done(code)));
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The process started from the image's entrypoint and everything below it. */
async function containerProcesses(runnerPid: number, entrypoint: string): Promise<ContainerProcess[]> {
  const rows = (await output('ps', ['-eo', 'pid=,ppid=,uid=,args=']))
    .split('\n')
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/))
    .filter((match) => match !== null)
    .map(([, pid, ppid, uid, command]) => ({ pid: Number(pid), ppid: Number(ppid), uid: Number(uid), command }));
  const below = (pid: number): typeof rows =>
    rows.filter((row) => row.ppid === pid).flatMap((row) => [row, ...below(row.pid)]);
  const root = below(runnerPid).find((row) => row.command.startsWith(entrypoint));
  if (!root) return [];
  return [root, ...below(root.pid)].map(({ pid, uid, command }) => ({ pid, uid, command }));
}

async function waitUntilReady(url: string, runner: ChildProcess): Promise<{ status: number; seconds: number }> {
  const started = performance.now();
  let status = 0;
  while (performance.now() - started < READY_TIMEOUT_MS && runner.exitCode === null) {
    status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    );
    // Not listening yet (0) or loading the model (503): wait. Anything else is the answer.
    if (status !== 0 && status !== 503) break;
    await sleep(500);
  }
  return { status, seconds: (performance.now() - started) / 1000 };
}

async function predict(url: string, texts: string[]): Promise<SmokeReport['prediction']> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: texts }),
    });
    return { status: response.status, body: await response.json() };
  } catch (error) {
    return { status: 0, body: (error as Error).message };
  }
}

async function diskUsage(paths: string[]): Promise<SizeShare[]> {
  if (paths.length === 0) return [];
  const lines = await output('du', ['-sb', ...paths]);
  return lines.split('\n').map((line) => {
    const [bytes, path] = line.split('\t');
    return { path, bytes: Number(bytes) };
  });
}

/** Every installed package folder, scoped ones included (`@scope/name`). */
async function packageFolders(nodeModules: string): Promise<string[]> {
  const entries = await readdir(nodeModules, { withFileTypes: true });
  const folders = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map(async (entry) => {
        const path = join(nodeModules, entry.name);
        if (!entry.name.startsWith('@')) return [path];
        return (await readdir(path)).map((name) => join(path, name));
      }),
  );
  return folders.flat();
}

async function sizeReport(image: string, container: string, limitBytes: number): Promise<SmokeReport['size']> {
  const bytes = Number(await output('podman', ['image', 'inspect', '--format', '{{.Size}}', image]));
  const root = await output('buildah', ['mount', container]);
  const inImage = (path: string) => join(root, path);
  const parts = await diskUsage(['/app/models', '/app/node_modules', '/app/dist', '/usr/local'].map(inImage));
  const rest = bytes - parts.reduce((sum, part) => sum + part.bytes, 0);
  const packages = (await diskUsage(await packageFolders(inImage('/app/node_modules'))))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 5);
  const relative = (share: SizeShare) => ({ ...share, path: share.path.slice(root.length) });
  return {
    bytes,
    limitBytes,
    shares: [...parts.map(relative), { path: 'base image and the rest', bytes: rest }].sort(
      (a, b) => b.bytes - a.bytes,
    ),
    largestPackages: packages.map((share) => ({
      ...share,
      path: share.path.slice(inImage('/app/node_modules/').length),
    })),
  };
}

function checks(report: SmokeReport): string[] {
  const failures: string[] = [];
  const uid = Number(report.config.user.split(':')[0]);
  if (!/^\d+(:\d+)?$/.test(report.config.user) || uid === 0) {
    failures.push(`image USER must be a non-root numeric uid, is "${report.config.user}"`);
  }
  if (report.processes.length === 0) failures.push('no container process was found');
  for (const entry of report.processes) {
    if (entry.uid !== uid) failures.push(`process ${entry.command} runs as uid ${entry.uid}, not ${uid}`);
  }
  if (report.readiness.status !== 200) failures.push(`${READY_PATH} answered ${report.readiness.status}, not 200`);
  if (report.prediction.status !== 200) failures.push(`the prediction answered ${report.prediction.status}`);
  if (report.healthcheckExitCode !== 0) failures.push(`HEALTHCHECK exited ${report.healthcheckExitCode}`);
  if (report.shutdown.exitCode !== 0) failures.push(`after SIGTERM the container exited ${report.shutdown.exitCode}`);
  if (report.size.bytes >= report.size.limitBytes) {
    failures.push(`image is ${Math.round(report.size.bytes / MB)} MB, limit ${report.size.limitBytes / MB} MB`);
  }
  return failures;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      image: { type: 'string', default: 'sentiment-api:ci' },
      'model-source': { type: 'string', default: 'baseline' },
      report: { type: 'string', default: 'test-output/container-smoke/report.json' },
      'max-size-mb': { type: 'string', default: '900' },
    },
    strict: true,
  });
  const image = values.image;
  const reportPath = resolve(values.report);
  const workDir = dirname(reportPath);
  await mkdir(workDir, { recursive: true });

  log('base image');
  // The script logs on stderr and prints the image to build from: the pinned base, or its stand-in.
  const baseLog = join(workDir, 'base-image.log');
  let nodeImage: string;
  try {
    const { stdout, stderr } = await execFileAsync('bash', ['scripts/container-base-image.sh'], { maxBuffer: 64 * MB });
    await writeFile(baseLog, stderr);
    nodeImage = stdout.trim();
  } catch (error) {
    await writeFile(baseLog, (error as { stderr?: string }).stderr ?? String(error));
    throw new Error(`scripts/container-base-image.sh failed: see ${baseLog}`, { cause: error });
  }

  log(`building ${image} (MODEL_SOURCE=${values['model-source']})`);
  const buildStarted = performance.now();
  const build = await runLogged(
    'podman',
    [
      ...PODMAN,
      'build',
      // The docker format keeps HEALTHCHECK (OCI image configs have no field for it).
      '--format',
      'docker',
      '--isolation',
      'chroot',
      '--network',
      'host',
      '--pull=never',
      // Independent stages (dependencies, model, runtime base) build side by side.
      '--jobs',
      '2',
      '--build-arg',
      `NODE_IMAGE=${nodeImage}`,
      '--build-arg',
      `MODEL_SOURCE=${values['model-source']}`,
      '--tag',
      image,
      '.',
    ],
    join(workDir, 'build.log'),
  );
  if (build !== 0) throw new Error(`podman build failed: see ${join(workDir, 'build.log')}`);
  const buildSeconds = (performance.now() - buildStarted) / 1000;

  const config = JSON.parse(
    await output('podman', ['image', 'inspect', '--format', '{{json .Config}}', image]),
  ) as ImageConfig;
  const entrypoint = config.Entrypoint ?? [];
  const cmd = config.Cmd ?? [];
  // podman reports HEALTHCHECK beside the OCI config, which has no field for it.
  const healthcheck =
    (
      JSON.parse(await output('podman', ['image', 'inspect', '--format', '{{json .HealthCheck}}', image])) as {
        Test?: string[];
      } | null
    )?.Test ?? [];
  const container = await output('buildah', [
    'from',
    '--pull-never',
    '--name',
    `sentiment-smoke-${process.pid}`,
    image,
  ]);
  let runner: ChildProcess | undefined;
  try {
    const port = await freePort();
    const env = [
      `PORT=${port}`,
      `SHUTDOWN_DRAIN_MS=${SMOKE_DRAIN_MS}`,
      // The image is production: it refuses to start without API keys unless told to serve openly.
      'ALLOW_ANONYMOUS=true',
      // chroot isolation has no PID namespace, so tini is not PID 1 here: let it reap as a subreaper.
      'TINI_SUBREAPER=1',
    ].flatMap((entry) => ['--env', entry]);
    log(`running ${[...entrypoint, ...cmd].join(' ')} on port ${port}`);
    const appLog = openSync(join(workDir, 'app.log'), 'w');
    runner = spawn('buildah', ['run', '--isolation', 'chroot', ...env, container, '--', ...entrypoint, ...cmd], {
      stdio: ['ignore', appLog, appLog],
    });
    closeSync(appLog);

    const readiness = { path: READY_PATH, ...(await waitUntilReady(`http://127.0.0.1:${port}${READY_PATH}`, runner)) };
    const processes = await containerProcesses(runner.pid ?? -1, entrypoint[0] ?? cmd[0] ?? '');
    log(`ready: ${readiness.status} after ${readiness.seconds.toFixed(1)} s`);

    const prediction = await predict(`http://127.0.0.1:${port}/v1/sentiment/predict`, [
      'I love this film',
      'I hate this film',
    ]);

    const [kind, ...probe] = healthcheck;
    const probeCommand = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', probe.join(' ')] : probe;
    const healthcheckExitCode =
      probeCommand.length === 0
        ? null
        : await runLogged(
            'buildah',
            ['run', '--isolation', 'chroot', ...env, container, '--', ...probeCommand],
            join(workDir, 'healthcheck.log'),
          );

    const entry = processes[0];
    const stopStarted = performance.now();
    if (entry) process.kill(entry.pid, 'SIGTERM');
    const exitCode = await Promise.race([exited(runner), sleep(SMOKE_DRAIN_MS + EXIT_TIMEOUT_MS).then(() => null)]);
    const shutdown = { signal: 'SIGTERM' as const, exitCode, seconds: (performance.now() - stopStarted) / 1000 };
    log(`after SIGTERM: exit code ${exitCode} in ${shutdown.seconds.toFixed(1)} s`);

    const size = await sizeReport(image, container, Number(values['max-size-mb']) * MB);
    const report: SmokeReport = {
      image,
      modelSource: values['model-source'],
      buildSeconds,
      config: { user: config.User ?? '', entrypoint, cmd, healthcheck, env: config.Env ?? [] },
      processes,
      readiness,
      prediction,
      healthcheckExitCode,
      shutdown,
      size,
      failures: [],
    };
    report.failures = checks(report);
    await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);

    log(
      `image ${Math.round(size.bytes / MB)} MB: ${size.shares.map((s) => `${s.path} ${Math.round(s.bytes / MB)} MB`).join(', ')}`,
    );
    log(`largest packages: ${size.largestPackages.map((s) => `${s.path} ${Math.round(s.bytes / MB)} MB`).join(', ')}`);
    for (const failure of report.failures) log(`FAILED: ${failure}`);
    log(`report: ${reportPath}`);
    if (report.failures.length > 0) process.exitCode = 1;
  } finally {
    if (runner?.pid !== undefined && runner.exitCode === null) {
      // Killing buildah alone would orphan the app: stop the container's processes first.
      for (const { pid } of await containerProcesses(runner.pid, entrypoint[0] ?? cmd[0] ?? '')) {
        process.kill(pid, 'SIGKILL');
      }
      runner.kill('SIGKILL');
      await exited(runner);
    }
    await execFileAsync('buildah', ['rm', container]).catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
