import { Logger, type INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { ShutdownState } from './shutdown-state.js';

const logger = new Logger('Shutdown');

/**
 * SIGTERM/SIGINT: readiness turns 503 at once, requests keep being served for `drainMs` (time for
 * Kubernetes to take the pod out of its Service), then the server stops accepting, finishes what is
 * in flight, the app closes (shutdown hooks) and the process exits 0. A second signal exits at once.
 */
export function handleShutdownSignals(app: INestApplication, drainMs: number): void {
  const state = app.get(ShutdownState);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!state.begin()) {
      logger.warn({ msg: 'second shutdown signal: exiting without waiting for in-flight requests', signal });
      process.exit(1);
    }
    logger.log({ msg: 'shutdown signal received: readiness is 503, draining', signal, drainMs });
    setTimeout(() => void close(app), drainMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function close(app: INestApplication): Promise<void> {
  try {
    logger.log({ msg: 'drain over: no new connections; finishing requests in flight' });
    // Nest's close() runs the destroy hooks (Redis, batcher) before it closes the HTTP server, so the
    // server is closed first: in-flight requests finish while everything they use is still open.
    await closeServer(app.getHttpServer() as Server);
    await app.close();
    logger.log({ msg: 'shutdown complete' });
    process.exit(0);
  } catch (error) {
    logger.error({ msg: 'shutdown failed', error: (error as Error).message });
    process.exit(1);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
