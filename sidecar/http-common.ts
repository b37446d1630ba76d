import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Metrics } from './metrics.js';

/** The error body of CONTRACT §3: {"error": {"code", "message"}}. Messages never hold a value or token. */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

export interface Readiness {
  /**
   * Reasons it is not ready yet; empty when ready. `detail` adds Vault's message for each secret, which can
   * name the secret's path: only the loopback listener asks for it, the pod-IP one gets names and codes.
   */
  notReadyReasons(detail: boolean): string[];
}

/**
 * Fastify options both listeners share. A URL fastify cannot even parse (bad percent-encoding) gets the
 * contract's error shape and no-store like every other answer, not fastify's own body.
 */
export const SERVER_OPTIONS = {
  logger: false,
  forceCloseConnections: true,
  frameworkErrors: (_error: Error, _request: unknown, reply: FastifyReply): void => {
    reply.header('Cache-Control', 'no-store');
    sendError(reply, 400, 'bad_request', 'malformed request URL');
  },
} as const;

/** What both listeners share: GET/HEAD only, no-store, JSON errors, /healthz and /readyz. */
export function registerCommon(app: FastifyInstance, readiness: Readiness, opts: { detail: boolean }): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      reply.header('Allow', 'GET, HEAD');
      return sendError(reply, 405, 'method_not_allowed', `${request.method} is not allowed; use GET or HEAD`);
    }
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, 404, 'not_found', `no such endpoint: ${request.url.split('?')[0]}`);
  });
  app.setErrorHandler((error: { statusCode?: number; message?: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    sendError(reply, status, status >= 500 ? 'internal_error' : 'bad_request', status >= 500 ? 'internal error' : (error.message ?? 'bad request'));
  });
  app.get('/healthz', async (_request, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reasons = readiness.notReadyReasons(opts.detail);
    if (reasons.length === 0) return reply.send({ status: 'ready' });
    return sendError(reply, 503, 'not_ready', reasons.join('; '));
  });
}

export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
