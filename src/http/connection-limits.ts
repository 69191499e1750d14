import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpServerLimits } from '../config/settings.js';

/**
 * Caps open connections: all together (Node's `maxConnections`: more are closed as they arrive)
 * and per peer address, so one client cannot hold every connection the server will take. A
 * connection over a cap is destroyed before any byte of it is read.
 */
export function limitConnections(server: Server, limits: HttpServerLimits): void {
  server.maxConnections = limits.maxConnections;
  if (limits.maxConnectionsPerIp === 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > limits.maxConnectionsPerIp) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
