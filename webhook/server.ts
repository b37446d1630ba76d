/** The HTTPS surface (docs/configuration.md). Thin: parsing and decisions live in admission.ts. */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { settleResponseShape } from '../sidecar/response-shape.js';
import { holdTickShape } from '../sidecar/tick-shape.js';
import { invalidRequest, responseJson, type ReviewResult } from './admission.js';
import { admissionLogger } from './logger.js';
import type { WebhookMetrics } from './metrics.js';
import type { TlsPair } from './tls.js';

export interface ServerDeps {
  logger: Logger;
  metrics: WebhookMetrics;
  tls: TlsPair;
  maxBodyBytes: number;
  /** open connections at most; more are closed as they arrive (bounds memory, see CONNECTION_LIMITS) */
  maxConnections: number;
  review: (raw: unknown) => Promise<ReviewResult>;
  /** false while starting or shutting down: /readyz answers 503 */
  ready: () => boolean;
}

export type WebhookServer = FastifyInstance<HttpsServer>;

/**
 * Timeouts for the one client that matters, the API server. It keeps connections open and reuses them (Go's
 * http.Transport, idle connections closed after 90 s), sends each review at once, and gives up on a call after
 * the webhook's timeoutSeconds (at most 30 s). So: a connection that says nothing, or a request that trickles
 * in, is cut off well before that; an idle kept-alive connection is kept a little less than the API server
 * keeps it (longer would hold sockets it has already given up; a connection the server closes first is one
 * Go retries on a new connection).
 */
export const CONNECTION_LIMITS = {
  /** TLS handshake (Go's own handshake timeout is 10 s) */
  handshakeTimeoutMs: 10_000,
  /** a socket with no traffic at all, before or during a request */
  idleTimeoutMs: 15_000,
  /** request headers complete, from the request's first byte */
  headersTimeoutMs: 10_000,
  /** the whole request body in */
  requestTimeoutMs: 15_000,
  /** between requests on a kept-alive connection; below the API server's 90 s */
  keepAliveTimeoutMs: 60_000,
} as const;

export function buildServer(deps: ServerDeps): WebhookServer {
  settleResponseShape();
  holdTickShape();
  const app = Fastify({
    https: { cert: deps.tls.cert, key: deps.tls.key, handshakeTimeout: CONNECTION_LIMITS.handshakeTimeoutMs },
    loggerInstance: deps.logger,
    // one line per admission is written by the route itself, with its outcome
    logController: new LogController({ disableRequestLogging: true }),
    // req.log is the webhook's logger itself: fastify's default makes a pino child per request (bindings
    // serialised, formatters rebuilt) only to add a reqId no line here needs; the review line names its uid
    childLoggerFactory: (logger) => logger,
    bodyLimit: deps.maxBodyBytes,
    // bounded so a client that stops sending cannot hold a connection (and shutdown) forever
    requestTimeout: CONNECTION_LIMITS.requestTimeoutMs,
    connectionTimeout: CONNECTION_LIMITS.idleTimeoutMs,
    keepAliveTimeout: CONNECTION_LIMITS.keepAliveTimeoutMs,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  }) as unknown as WebhookServer;
  app.server.headersTimeout = CONNECTION_LIMITS.headersTimeoutMs;
  // Each open TLS connection costs tens of kilobytes; without a bound, 8,000 of them took the webhook to
  // ~490 MB. Past the bound Node closes a new connection as soon as it is accepted. A warning at the first,
  // then at most one count per 10 s: a flood must not become a log flood.
  app.server.maxConnections = deps.maxConnections;
  let dropped = 0;
  let window: NodeJS.Timeout | undefined;
  app.server.on('drop', () => {
    if (window) {
      dropped++;
      return;
    }
    deps.logger.warn({ maxConnections: deps.maxConnections }, 'connection limit reached: new connections closed');
    window = setTimeout(() => {
      if (dropped > 0)
        deps.logger.warn(
          { dropped, maxConnections: deps.maxConnections },
          'connection limit: more connections closed in the last 10 s',
        );
      dropped = 0;
      window = undefined;
    }, 10_000);
    window.unref();
  });

  // Every body is read as bytes and parsed here, so a wrong or missing Content-Type gets the same clear
  // 400 as broken JSON rather than fastify's 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const send400 = (message: string): ReviewResult => invalidRequest(message);
  const logAdmission = admissionLogger(deps.logger);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    let result: ReviewResult;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      result = send400(`request body is larger than ${deps.maxBodyBytes} bytes`);
    else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
      result = send400(`bad request: ${err.message}`);
    else {
      req.log.error({ err: { message: err.message, code: err.code }, url: req.url.slice(0, 200) }, 'request failed');
      deps.metrics.admissions.inc({ outcome: 'error' });
      void reply.code(500).send({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        code: 500,
        reason: 'InternalError',
        message: 'internal error',
      });
      return;
    }
    if (req.url === '/mutate') deps.metrics.admissions.inc({ outcome: result.outcome });
    void reply.code(result.httpStatus).send(result.body);
  });

  app.post('/mutate', async (req, reply) => {
    const started = process.hrtime.bigint();
    const body = req.body as Buffer | undefined;
    let result: ReviewResult;
    if (!body || body.length === 0) {
      result = send400('empty body: expected an AdmissionReview (admission.k8s.io/v1) as JSON');
    } else {
      let raw: unknown;
      let notJson: string | undefined;
      try {
        raw = JSON.parse(body.toString('utf8'));
      } catch (err) {
        notJson = `body is not JSON: ${(err as Error).message}`;
      }
      // one assignment per branch, so the compiler sees `result` set on every path (no fallback needed)
      result = notJson === undefined ? await deps.review(raw) : send400(notJson);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.metrics.admissions.inc({ outcome: result.outcome });
    deps.metrics.admissionSeconds.observe({ outcome: result.outcome }, seconds);
    // an 'error' outcome is a bug the safety net in review() caught: logged as one
    logAdmission(result.outcome === 'error' ? 'error' : 'info', {
      outcome: result.outcome,
      ...result.log,
      ms: Math.round(seconds * 1e4) / 10,
    });
    return reply.code(result.httpStatus).header('content-type', 'application/json').send(responseJson(result));
  });

  app.get('/healthz', async (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) =>
    deps.ready() ? reply.send({ status: 'ready' }) : reply.code(503).send({ status: 'not ready' }),
  );
  app.get('/metrics', async (_req, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.header('content-type', deps.metrics.registry.contentType).send(text);
  });
  return app;
}
