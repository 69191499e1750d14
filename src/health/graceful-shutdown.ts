import { Logger, type INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { flushTraces } from '../telemetry/tracing.js';
import { ShutdownState } from './shutdown-state.js';

const logger = new Logger('Shutdown');

/**
 * After the in-flight allowance, the longest the app may take to close (model calls still running,
 * each Redis client's close deadline) before the process exits anyway, with code 1: whatever Redis
 * or a library does, the process is gone within drain + in-flight allowance + this.
 */
export const CLOSING_ALLOWANCE_MS = 5000;

/**
 * SIGTERM/SIGINT: readiness turns 503 at once, requests keep being served for `drainMs` (time for
 * Kubernetes to take the pod out of its Service), then the server stops accepting, closes idle
 * connections, gives requests in flight (and held work: bulk chunks) up to `inFlightMs` to finish
 * and then closes every connection (a slow client must not hold the exit past the grace period),
 * the app closes (shutdown hooks), the spans still buffered are exported (tracing on) and the
 * process exits 0. A second signal exits at once.
 */
export function handleShutdownSignals(app: INestApplication, drainMs: number, inFlightMs: number): void {
  const state = app.get(ShutdownState);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!state.begin()) {
      logger.warn({ msg: 'second shutdown signal: exiting without waiting for in-flight requests', signal });
      process.exit(1);
    }
    logger.log({ msg: 'shutdown signal received: readiness is 503, draining', signal, drainMs });
    setTimeout(() => void close(app, state, inFlightMs), drainMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function close(app: INestApplication, state: ShutdownState, inFlightMs: number): Promise<void> {
  setTimeout(() => {
    logger.error({
      msg: 'shutdown did not finish in time: exiting anyway',
      allowanceMs: inFlightMs + CLOSING_ALLOWANCE_MS,
    });
    process.exit(1);
  }, inFlightMs + CLOSING_ALLOWANCE_MS);
  try {
    // Nest's close() runs the destroy and shutdown hooks (Redis clients, job workers, model workers)
    // before it closes the HTTP server, so the server is closed first: in-flight requests finish
    // while everything they use is still open.
    const serverClosed = closeServer(app.getHttpServer() as Server, inFlightMs);
    // Only now: the listener closed (synchronously, above), so whoever reads this line and connects
    // is refused, not accepted into the backlog and then reset.
    logger.log({ msg: 'drain over: no new connections; finishing requests in flight' });
    await Promise.all([serverClosed, state.heldWorkSettled(inFlightMs)]);
    await app.close();
    // The spans of the last requests and of the close itself, for at most TRACE_FLUSH_MS (1 s).
    await flushTraces();
    logger.log({ msg: 'shutdown complete' });
    process.exit(0);
  } catch (error) {
    logger.error({ msg: 'shutdown failed', error: (error as Error).message });
    process.exit(1);
  }
}

async function closeServer(server: Server, inFlightMs: number): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  server.closeIdleConnections();
  const cutOff = setTimeout(() => {
    logger.warn({ msg: 'requests still in flight after the allowance: closing their connections', inFlightMs });
    server.closeAllConnections();
  }, inFlightMs);
  try {
    await closed;
  } finally {
    clearTimeout(cutOff);
  }
}
