import Fastify, { type FastifyInstance } from 'fastify';
import { registerCommon, registerMetrics, SERVER_OPTIONS, type Readiness } from './http-common.js';
import type { Metrics } from './metrics.js';

/**
 * The listener on the pod IP (kubelet probes, Prometheus): /healthz, /readyz, /metrics and nothing else.
 * It never serves a secret, a path or a value.
 */
export function buildHealthApp(opts: { readiness: Readiness; metrics: Metrics }): FastifyInstance {
  const app = Fastify(SERVER_OPTIONS);
  registerCommon(app, opts.readiness, { detail: false });
  registerMetrics(app, opts.metrics);
  return app;
}
