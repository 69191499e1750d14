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

/**
 * One warning per outage of one Redis role (`cache`, `jobs-store`, `jobs-queue`): reconnect
 * attempts fail every few seconds, and only the first of an outage is worth a line.
 */
export class RedisOutageLog {
  private reported = false;

  constructor(
    private readonly logger: Logger,
    private readonly role: string,
    /** What the service does meanwhile, for the line. */
    private readonly meanwhile: string,
  ) {}

  get inOutage(): boolean {
    return this.reported;
  }

  failed(error: Error): void {
    if (this.reported) return;
    this.reported = true;
    this.logger.warn({ msg: `redis (${this.role}) ${redisFailure(error)}; ${this.meanwhile}`, role: this.role });
  }

  recovered(): void {
    this.reported = false;
    this.logger.log({ msg: `redis (${this.role}) connected`, role: this.role });
  }
}
