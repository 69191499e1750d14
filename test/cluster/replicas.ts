import { startServerProcess, type ServerExit, type ServerProcess } from '../support/server-process.js';
import type { ReplicaNetwork } from './network.js';

/** Every replica listens on this port, each on its own address. */
export const REPLICA_PORT = 8000;

/** One replica of the built server, in its own network namespace; it can be stopped and started again. */
export class Replica {
  private server?: ServerProcess;
  private starts = 0;

  constructor(
    readonly name: string,
    readonly network: ReplicaNetwork,
    private readonly env: Record<string, string>,
    /** Names its log files (test-output/logs/cluster-<phase>-<name>-start<n>-<port>.log). */
    private readonly phase: string,
  ) {}

  get baseUrl(): string {
    return `http://${this.network.address}:${REPLICA_PORT}`;
  }

  /** Starts it and resolves once it is ready (`/health/ready` 200). */
  async start(): Promise<void> {
    this.starts += 1;
    this.server = await startServerProcess(`cluster-${this.phase}-${this.name}-start${this.starts}`, this.env, {
      at: { namespace: this.network.namespace, address: this.network.address, port: REPLICA_PORT },
    });
  }

  /** Sends `signal` (SIGTERM: graceful shutdown; SIGKILL: a crash) and waits for the exit. */
  async signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<ServerExit> {
    const server = this.running();
    server.child.kill(signal);
    return server.exited;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  private running(): ServerProcess {
    if (!this.server) throw new Error(`${this.name} was never started`);
    return this.server;
  }
}
