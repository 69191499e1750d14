import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { ShutdownState } from './shutdown-state.js';

/**
 * Once shutdown has begun, every response says `Connection: close`. Clients then open new
 * connections (which the Service sends to other pods), and no idle keep-alive connection holds the
 * server open after it stops accepting: closing waits only for requests really in flight.
 */
@Injectable()
export class ConnectionDraining implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly shutdown: ShutdownState,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onSend', async (_request, reply, payload) => {
      if (this.shutdown.shuttingDown) void reply.header('connection', 'close');
      return payload;
    });
  }
}
