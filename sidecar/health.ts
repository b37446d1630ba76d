import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerProbe, refuseMethod, type Readiness } from './http-common.js';
import { HttpListener, internalError, type ListenerLimits } from './http/listener.js';
import { send, sendError } from './http/reply.js';
import { parseTarget } from './http/target.js';
import type { Metrics } from './metrics.js';

/**
 * The pod-IP listener is reached from the whole cluster network, so it holds little: a few connections
 * (kubelet probes, a Prometheus scrape, `vault-irsa-sidecar wait`), each allowed a few seconds to send its
 * request and to stay idle. Thousands of idle connections used to push the sidecar past its memory limit.
 */
const HEALTH_LIMITS: ListenerLimits = {
  maxConnections: 32,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  maxHeaderSize: 8 * 1024,
};

/**
 * The listener on the pod IP (kubelet probes, Prometheus): /healthz, /readyz, /metrics and nothing else.
 * It never serves a secret, a path, a Vault or STS message or a value: /readyz gives names and codes.
 */
export function buildHealthApp(opts: {
  readiness: Readiness;
  metrics: Metrics;
  limits?: Partial<ListenerLimits>;
}): HttpListener {
  const { readiness, metrics } = opts;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const parsed = parseTarget(req.url);
    if (!parsed.ok) return sendError(res, 400, 'bad_request', parsed.message);
    if (refuseMethod(req, res) !== undefined) return;
    const path = parsed.target.path;
    if (answerProbe(path, res, readiness, false) !== undefined) return;
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => send(res, 200, text, { 'content-type': metrics.registry.contentType }),
        () => internalError(res),
      );
      return;
    }
    // the path is not echoed: this listener repeats nothing a client could plant
    sendError(res, 404, 'not_found', 'no such endpoint (this listener serves /healthz, /readyz and /metrics)');
  };
  return new HttpListener(handle, { ...HEALTH_LIMITS, ...opts.limits });
}
