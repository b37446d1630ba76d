/**
 * Where the Kubernetes API is and how to authenticate to it, without @kubernetes/client-node on the in-cluster
 * path (client-node costs megabytes of heap once evaluated, and a pod needs only a URL, a CA and a token).
 *
 * In a pod: KUBERNETES_SERVICE_HOST/PORT, and the ServiceAccount's ca.crt and token. The kubelet rotates a
 * projected token in place, so the token file is read again when the copy in memory is older than 60 s, as
 * client-node's tokenFile provider and client-go do; a token read a minute late is still valid (the kubelet
 * renews at 80% of its life).
 *
 * With KUBECONFIG or ~/.kube/config (development, the tests, `kubectl proxy`), client-node still reads the file,
 * imported lazily on that path only: its exec plugins, auth providers and client certificates stay its own.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RequestOptions } from 'node:https';

export interface KubeConnection {
  /** the API server's base URL */
  readonly server: URL;
  /** adds credentials and TLS trust to one request's options (a rotated token is picked up here) */
  authorize(opts: RequestOptions): Promise<void>;
}

/** The parts of client-node's KubeConfig this module calls: an instance is passed in, the module never imported. */
export interface KubeConfigLike {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

export const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** how old the token in memory may get before the file is read again (client-node and client-go: 60 s) */
export const TOKEN_REREAD_MS = 60_000;

export function isKubeConnection(x: KubeConnection | KubeConfigLike): x is KubeConnection {
  return typeof (x as KubeConnection).authorize === 'function' && (x as KubeConnection).server instanceof URL;
}

export function connectionFromKubeConfig(kc: KubeConfigLike): KubeConnection {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the Kubernetes configuration has no current cluster');
  return { server: new URL(cluster.server), authorize: (opts) => kc.applyToHTTPSOptions(opts) };
}

export interface InClusterOptions {
  env?: Record<string, string | undefined>;
  /** prepended to /var/run/secrets/...; tests point it at a temporary directory */
  pathPrefix?: string;
  now?: () => number;
}

/** The in-cluster API server URL, as client-node builds it (http for the conventional plain ports). */
export function inClusterServer(env: Record<string, string | undefined>): URL {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set');
  if (!port || !/^[0-9]{1,5}$/.test(port) || Number(port) > 65535)
    throw new Error(`KUBERNETES_SERVICE_PORT is not a port number: ${JSON.stringify(port ?? '')}`);
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  return new URL(`${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`);
}

export function inClusterConnection(opts: InClusterOptions = {}): KubeConnection {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  const dir = `${opts.pathPrefix ?? ''}${SERVICEACCOUNT_DIR}`;
  const server = inClusterServer(env);
  let token: string | undefined;
  let ca: Buffer | undefined;
  let readAt = 0;
  // one read at a time: concurrent requests share it rather than each opening the files
  let reading: Promise<void> | undefined;
  const refresh = async (): Promise<void> => {
    const raw = await readFile(join(dir, 'token'), 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read the ServiceAccount token ${join(dir, 'token')}: ${err.code ?? err.message}`);
    });
    const t = raw.trim();
    if (t === '') throw new Error(`the ServiceAccount token ${join(dir, 'token')} is empty`);
    token = t;
    if (server.protocol === 'https:') {
      ca = await readFile(join(dir, 'ca.crt')).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot read the cluster CA ${join(dir, 'ca.crt')}: ${err.code ?? err.message}`);
      });
    }
    readAt = now();
  };
  return {
    server,
    async authorize(req) {
      if (token === undefined || now() - readAt > TOKEN_REREAD_MS) {
        reading ??= refresh().finally(() => (reading = undefined));
        await reading;
      }
      req.headers = { ...(req.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` };
      if (ca) req.ca = ca;
    },
  };
}

/** client-node's order: KUBECONFIG, then ~/.kube/config, then in-cluster. */
export function kubeConfigFileInUse(env: Record<string, string | undefined>): boolean {
  return Boolean(env.KUBECONFIG) || existsSync(join(homedir(), '.kube', 'config'));
}

/** Whether `auto` finds a cluster, without loading anything: a kubeconfig file, or the in-cluster token. */
export function kubeConfigAvailable(
  env: Record<string, string | undefined> = process.env,
  serviceAccountDir = SERVICEACCOUNT_DIR,
): boolean {
  if (kubeConfigFileInUse(env)) return true;
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(join(serviceAccountDir, 'token'));
}

/** The connection `auto` uses; client-node is imported only when a kubeconfig file is what configures it. */
export async function loadKubeConnection(
  env: Record<string, string | undefined> = process.env,
  opts: Omit<InClusterOptions, 'env'> = {},
): Promise<KubeConnection> {
  if (kubeConfigFileInUse(env)) {
    const { loadKubeConfig } = await import('./kube-client.js');
    return connectionFromKubeConfig(loadKubeConfig());
  }
  return inClusterConnection({ ...opts, env });
}
