import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

/**
 * A check run first on every request; true when it answered the request itself, which then goes no
 * further. The checks are plain functions in one synchronous onRequest hook, not one async hook each:
 * this runs on every secret read.
 */
export type Gate = (request: FastifyRequest, reply: FastifyReply) => boolean;

/** no-store on every answer; GET and HEAD only. */
export const commonGate: Gate = (request, reply) => {
  reply.header('Cache-Control', 'no-store');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    reply.header('Allow', 'GET, HEAD');
    sendError(reply, 405, 'method_not_allowed', `${request.method} is not allowed; use GET or HEAD`);
    return true;
  }
  return false;
};

/**
 * What both listeners share: GET/HEAD only, no-store, JSON errors, /healthz and /readyz. `gate` replaces
 * commonGate on a listener with more checks (it runs commonGate itself).
 */
export function registerCommon(app: FastifyInstance, readiness: Readiness, opts: { detail: boolean; gate?: Gate }): void {
  const gate = opts.gate ?? commonGate;
  app.addHook('onRequest', (request, reply, done) => {
    // a gate that answered has sent the reply: the request goes no further
    if (!gate(request, reply)) done();
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, 404, 'not_found', `no such endpoint: ${request.url.split('?')[0]}`);
  });
  app.setErrorHandler((error: { statusCode?: number; message?: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    sendError(reply, status, status >= 500 ? 'internal_error' : 'bad_request', status >= 500 ? 'internal error' : (error.message ?? 'bad request'));
  });
  app.get('/healthz', (_request, reply) => {
    reply.send({ status: 'ok' });
  });
  app.get('/readyz', (_request, reply) => {
    const reasons = readiness.notReadyReasons(opts.detail);
    if (reasons.length === 0) reply.send({ status: 'ready' });
    else sendError(reply, 503, 'not_ready', reasons.join('; '));
  });
}

export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
