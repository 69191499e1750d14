import type { FastifyReply } from 'fastify';

/**
 * Aborts when the client closes the connection before its answer was sent, so the scheduler can
 * take the request's unstarted texts out of the queue instead of computing answers nobody reads.
 */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  // Asked for late (once texts go to the model): the client may be gone already.
  if (reply.raw.destroyed || reply.raw.socket?.destroyed) controller.abort();
  else
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
  return controller.signal;
}
