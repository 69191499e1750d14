import type { Logger } from '@nestjs/common';

/**
 * Why a Redis connection failed, in the words an operator acts on: a refused TLS certificate and
 * refused credentials are named as such (neither goes away by waiting). Redis's and Node's error
 * texts never hold the password or the URL.
 */
export function redisFailure(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (/CERT/.test(code) || /certificate/i.test(error.message)) {
    return `TLS certificate refused (${error.message}): check REDIS_TLS_CA_FILE (or NODE_EXTRA_CA_CERTS), REDIS_TLS_CERT_FILE and the server's certificate`;
  }
  if (/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(error.message)) {
    return `credentials refused (${error.message}): check the user and password settings`;
  }
  return `unreachable (${error.message})`;
}

/** A Redis role: which client of the process, in logs and in `CLIENT LIST`'s connection names. */
export type RedisRole = 'cache' | 'jobs-store' | 'jobs-queue' | 'jobs-worker';

/**
 * One warning per outage of one Redis role, and one line when it is back: reconnect attempts fail
 * every few seconds, and only the first of an outage is worth a line. Made by the Redis module's
 * factory, one per role, fed by the client's own events (its errors, its being ready again).
 */
export class RedisOutageLog {
  private state: 'connecting' | 'up' | 'down' = 'connecting';

  constructor(
    private readonly logger: Logger,
    private readonly role: RedisRole,
    /** What the service does meanwhile, for the line. */
    private readonly meanwhile: string,
  ) {}

  get inOutage(): boolean {
    return this.state === 'down';
  }

  failed(error: Error): void {
    if (this.state === 'down') return;
    this.state = 'down';
    this.logger.warn({ msg: `redis (${this.role}) ${redisFailure(error)}; ${this.meanwhile}`, role: this.role });
  }

  /** Connected: said at the first connect and after an outage; a reconnect without one is silent. */
  recovered(): void {
    if (this.state === 'up') return;
    this.state = 'up';
    this.logger.log({ msg: `redis (${this.role}) connected`, role: this.role });
  }
}
