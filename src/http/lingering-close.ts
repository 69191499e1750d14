import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long a connection stays open, reading and discarding, after an answer that closes it early. */
export const LINGER_MS = 2000;
/**
 * How much is read and discarded meanwhile, in request-body limits: a client that sends its whole
 * body before it reads the answer (Python's http.client does) may be sending a few times the limit.
 */
export const LINGER_BODY_LIMITS = 4;
/**
 * But never less than this: a job upload (its own, larger limit) refused early goes on at loopback
 * or LAN speed until the client's event loop reads the answer, and closing sooner resets the
 * connection with the answer unread. A few tens of milliseconds of sending at those speeds.
 */
export const LINGER_MIN_BYTES = 64 * 1024 * 1024;

/** What a lingering connection may read and discard before it is closed. */
export function lingerLimitBytes(bodyLimitBytes: number): number {
  return Math.max(LINGER_BODY_LIMITS * bodyLimitBytes, LINGER_MIN_BYTES);
}

/**
 * Lingering close, as nginx's `lingering_close`, for an answer that closes the connection while the
 * request's body is still arriving (a 413 over `MAX_BODY_BYTES`; a 401 or 429 given before the body
 * is read, to a client that asked for `Connection: close`).
 *
 * Node ends such a connection after the answer and destroys it once its FIN is out. Whatever the
 * client sends after that reaches a closed socket, and the kernel answers it with a reset, which
 * can throw away the answer before the client has read it: the client sees EPIPE or ECONNRESET
 * instead of the 413. So here, after the answer and the FIN, what arrives is no longer parsed as
 * HTTP but read and dropped, until the client closes its side, `LINGER_MS` have passed or
 * `lingerLimitBytes(bodyLimitBytes)` have come, whichever is first; then the socket is closed.
 */
export function lingerBeforeClosing(server: Server, bodyLimitBytes: number): void {
  const maxBytes = lingerLimitBytes(bodyLimitBytes);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    // Node's own 'finish' listener runs first: by now it has ended the socket (the answer closes the
    // connection) or kept it for the next request.
    response.once('finish', () => {
      const socket = request.socket;
      if (request.complete || !socket.writableEnded || socket.destroyed) return;
      linger(socket, maxBytes);
    });
  });
}

function linger(socket: Socket, maxBytes: number): void {
  // Node's `destroySoon()` has queued `socket.destroy` itself for when the FIN is out: the socket
  // closes later, here.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the listener to remove is the method
  socket.removeListener('finish', socket.destroy);
  const close = () => socket.destroy();
  const timer = setTimeout(close, LINGER_MS);
  socket.once('close', () => clearTimeout(timer));
  // Before Node's own listener, which would take an unfinished body for a client error.
  socket.prependOnceListener('end', close);
  // The HTTP parser reads this connection no more: without Node's 'data' listener the bytes
  // reach only this one (adding it makes Node hand them over from its parser), which drops them.
  socket.removeAllListeners('data');
  let drained = 0;
  socket.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > maxBytes) close();
  });
  // Node may have paused reading while the body waited for a consumer.
  socket.resume();
}
