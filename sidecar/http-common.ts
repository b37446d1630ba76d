import type { IncomingMessage, ServerResponse } from 'node:http';
import { JSON_TYPE, send, sendError } from './http/reply.js';

export interface Readiness {
  /**
   * Reasons it is not ready yet; empty when ready. `detail` adds Vault's and STS's messages, which can
   * name a path, a role or an ARN: only the loopback listener asks for it, the pod-IP one gets names and codes.
   */
  notReadyReasons(detail: boolean): string[];
}

/** The routes both listeners serve without a token. Compared with the decoded, routed path. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

const HEALTHY = Buffer.from(JSON.stringify({ status: 'ok' }));
const READY = Buffer.from(JSON.stringify({ status: 'ready' }));

/** GET and HEAD only; anything else is answered 405 here. Returns the status when it answered. */
export function refuseMethod(req: IncomingMessage, res: ServerResponse): number | undefined {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  sendError(res, 405, 'method_not_allowed', `${String(req.method).slice(0, 32)} is not allowed; use GET or HEAD`, {
    allow: 'GET, HEAD',
  });
  return 405;
}

/** /healthz and /readyz; undefined for any other path. */
export function answerProbe(
  path: string,
  res: ServerResponse,
  readiness: Readiness,
  detail: boolean,
): number | undefined {
  if (path === '/healthz') {
    send(res, 200, HEALTHY, { 'content-type': JSON_TYPE });
    return 200;
  }
  if (path === '/readyz') {
    const reasons = readiness.notReadyReasons(detail);
    if (reasons.length === 0) {
      send(res, 200, READY, { 'content-type': JSON_TYPE });
      return 200;
    }
    sendError(res, 503, 'not_ready', reasons.join('; '));
    return 503;
  }
  return undefined;
}
