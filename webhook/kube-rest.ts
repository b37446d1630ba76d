/**
 * Raw JSON requests to the Kubernetes API with a KubeConfig's credentials. Used where the webhook writes an
 * object back (its TLS Secret, its own MutatingWebhookConfiguration): the object goes back exactly as read,
 * so fields this client has no model for are never dropped by a typed round trip.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeResponse {
  status: number;
  body: unknown;
}

export type KubeRequest = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => Promise<KubeResponse>;

const MAX_BODY = 4 * 1024 * 1024;

export function kubeRequester(kc: KubeConfig, timeoutMs: number): KubeRequest {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the Kubernetes configuration has no current cluster');
  const base = new URL(cluster.server);
  return async (method, path, body) => {
    const url = new URL(path, base);
    const opts: RequestOptions = {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      timeout: timeoutMs,
    };
    await kc.applyToHTTPSOptions(opts);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<KubeResponse>((resolve, reject) => {
      const req = send(opts, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error(`${method} ${path}: response larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // a proxy's HTML error page, say: keep the text; callers only read status from it
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      if (body !== undefined) req.end(JSON.stringify(body));
      else req.end();
    });
  };
}
