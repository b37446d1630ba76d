import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Metrics } from './metrics.js';

/** The error body of CONTRACT §3: {"error": {"code", "message"}}. Messages never hold a value or token. */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

export interface Readiness {
  /** reasons it is not ready yet; empty when ready */
  notReadyReasons(): string[];
}

/** What both listeners share: GET/HEAD only, no-store, JSON errors, /healthz and /readyz. */
export function registerCommon(app: FastifyInstance, readiness: Readiness): void {
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
    const reasons = readiness.notReadyReasons();
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
