/**
 * Raw JSON requests to the Kubernetes API over node:http(s) with a KubeConnection's credentials. Used where the
 * webhook writes an object back (its TLS Secret, its own MutatingWebhookConfiguration): the object goes back
 * exactly as read, so fields this client has no model for are never dropped by a typed round trip; and by the
 * ServiceAccount cache, for its list, its watch stream and its GETs.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import {
  connectionFromKubeConfig,
  isKubeConnection,
  type KubeConfigLike,
  type KubeConnection,
} from './kube-connection.js';

export interface KubeResponse {
  status: number;
  body: unknown;
}

export type KubeRequest = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => Promise<KubeResponse>;

const MAX_BODY = 4 * 1024 * 1024;

/** Sends one request; resolves on the response headers with the body unread. `timeoutMs` is socket idle time. */
export async function kubeOpen(
  conn: KubeConnection,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  opts: { timeoutMs: number; body?: unknown },
): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  const url = new URL(path, conn.server);
  const ro: RequestOptions = {
    method,
    protocol: url.protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    headers: {
      accept: 'application/json',
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    timeout: opts.timeoutMs,
  };
  await conn.authorize(ro);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(ro, (res) => resolve({ req, res }));
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.end(JSON.stringify(opts.body));
    else req.end();
  });
}

/** Reads a whole (bounded) response body; JSON when it parses, the text otherwise. */
export function readBody(req: ClientRequest, res: IncomingMessage, what: string, max = MAX_BODY): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) req.destroy(new Error(`${what}: response larger than ${max} bytes`));
      else chunks.push(c);
    });
    let ended = false;
    res.on('close', () => {
      if (!ended) reject(new Error(`${what}: the connection closed before the response ended`));
    });
    res.on('end', () => {
      ended = true;
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // a proxy's HTML error page, say: keep the text; callers only read status from it
      }
      resolve(parsed);
    });
    res.on('error', reject);
    req.on('error', reject);
  });
}

export function toConnection(conn: KubeConnection | KubeConfigLike): KubeConnection {
  return isKubeConnection(conn) ? conn : connectionFromKubeConfig(conn);
}

/** A client-node KubeConfig (development, tests) is accepted as well as a KubeConnection. */
export function kubeRequester(conn: KubeConnection | KubeConfigLike, timeoutMs: number): KubeRequest {
  const c = toConnection(conn);
  return async (method, path, body) => {
    const { req, res } = await kubeOpen(c, method, path, { timeoutMs, body });
    const parsed = await readBody(req, res, `${method} ${path}`);
    return { status: res.statusCode ?? 0, body: parsed };
  };
}
