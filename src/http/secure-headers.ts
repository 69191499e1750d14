import helmet from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Settings } from '../config/settings.js';

/** Headers browsers may read from cross-origin answers: the ones the contract documents. */
const EXPOSED_HEADERS = ['X-Request-Id', 'X-Cache', 'Retry-After', 'WWW-Authenticate'];

/**
 * Helmet's secure headers on every answer, and CORS only for the origins in `CORS_ORIGINS`
 * (none by default: the API is called server to server). Swagger UI at /docs loads only its own
 * scripts and styles, so Helmet's default Content-Security-Policy fits it as is.
 */
export async function applySecureHeaders(app: NestFastifyApplication, settings: Settings): Promise<void> {
  await app.register(helmet, { global: true });
  if (settings.corsOrigins.length > 0) {
    app.enableCors({
      origin: [...settings.corsOrigins],
      methods: ['GET', 'POST'],
      allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Request-Id'],
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  }
}
