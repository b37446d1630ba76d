/**
 * A small Kubernetes API server stand-in for ServiceAccounts, speaking the real list/watch protocol that
 * @kubernetes/client-node's informer uses:
 *  - GET /api/v1/serviceaccounts → ServiceAccountList with metadata.resourceVersion;
 *  - GET /api/v1/serviceaccounts?watch=true&resourceVersion=N → a chunked stream of JSON lines
 *    {"type": "ADDED"|"MODIFIED"|"DELETED", "object": {...}} for every change after N, kept open;
 *  - GET /api/v1/namespaces/<ns>/serviceaccounts/<name> → the object, or a 404 Status.
 * Plain HTTP on 127.0.0.1; `writeKubeconfig` points a client at it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export interface ServiceAccountObject {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; annotations?: Record<string, string> };
}

export interface FakeKubeApi {
  readonly url: string;
  upsertServiceAccount(namespace: string, name: string, annotations?: Record<string, string>): void;
  deleteServiceAccount(namespace: string, name: string): void;
  /** every request: method, path, query (e.g. watch=true&resourceVersion=3) */
  readonly requests: ReadonlyArray<{ method: string; path: string; query: string }>;
  /** delay answers to single-object GETs (to test the webhook's timeout) */
  getDelayMs: number;
  /** answer list requests with this status (e.g. 500) instead of the list */
  listStatus: number;
  /** number of watch streams currently open */
  readonly openWatches: number;
  /** ends every open watch stream, as an API server does on its own timeout */
  dropWatches(): void;
  /**
   * A kubeconfig for it. `markInsecure` (default true) adds `insecure-skip-tls-verify`, without which client-node
   * alone refuses plain http; false writes what a user would, to check the webhook copes.
   */
  writeKubeconfig(dir: string, opts?: { markInsecure?: boolean }): Promise<string>;
  close(): Promise<void>;
}

type Event = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: ServiceAccountObject; rv: number };

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  const objects = new Map<string, ServiceAccountObject>();
  const history: Event[] = [];
  const watchers = new Set<{ res: ServerResponse; after: number }>();
  const sockets = new Set<Socket>();
  const requests: Array<{ method: string; path: string; query: string }> = [];
  let rv = 1;
  let uid = 0;

  const status = (res: ServerResponse, code: number, reason: string, message: string): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  };

  const emit = (type: Event['type'], object: ServiceAccountObject): void => {
    const ev = { type, object: structuredClone(object), rv };
    history.push(ev);
    for (const w of watchers) if (ev.rv > w.after) w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
  };

  const api: FakeKubeApi = {
    url: '',
    requests,
    getDelayMs: 0,
    listStatus: 200,
    get openWatches() {
      return watchers.size;
    },
    upsertServiceAccount(namespace, name, annotations) {
      const key = `${namespace}/${name}`;
      const existing = objects.get(key);
      rv += 1;
      const obj: ServiceAccountObject = {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: {
          name, namespace, uid: existing?.metadata.uid ?? `uid-${++uid}`, resourceVersion: String(rv),
          ...(annotations ? { annotations: { ...annotations } } : {}),
        },
      };
      objects.set(key, obj);
      emit(existing ? 'MODIFIED' : 'ADDED', obj);
    },
    deleteServiceAccount(namespace, name) {
      const key = `${namespace}/${name}`;
      const existing = objects.get(key);
      if (!existing) return;
      objects.delete(key);
      rv += 1;
      emit('DELETED', { ...existing, metadata: { ...existing.metadata, resourceVersion: String(rv) } });
    },
    dropWatches() {
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
    async writeKubeconfig(dir, opts = {}) {
      await mkdir(dir, { recursive: true });
      const path = join(dir, 'kubeconfig');
      await writeFile(path, [
        'apiVersion: v1', 'kind: Config',
        'clusters:', '- name: fake', '  cluster:', `    server: ${api.url}`,
        ...(opts.markInsecure === false ? [] : ['    insecure-skip-tls-verify: true']),
        'users:', '- name: fake', '  user:', '    token: fake-kube-token',
        'contexts:', '- name: fake', '  context:', '    cluster: fake', '    user: fake',
        'current-context: fake', '',
      ].join('\n'));
      return path;
    },
    close: async () => {
      api.dropWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams.toString() });
    if (req.method !== 'GET') return status(res, 405, 'MethodNotAllowed', 'only GET is served');

    if (url.pathname === '/api/v1/serviceaccounts') {
      if (url.searchParams.get('watch') === 'true') {
        const after = Number(url.searchParams.get('resourceVersion') ?? '0') || 0;
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        // a client's fetch resolves on the headers; send them before the first event
        res.flushHeaders();
        for (const ev of history) if (ev.rv > after) res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
        const w = { res, after };
        watchers.add(w);
        res.on('close', () => watchers.delete(w));
        return;
      }
      if (api.listStatus !== 200) return status(res, api.listStatus, 'InternalError', 'list failed (fault injected)');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        kind: 'ServiceAccountList', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items: [...objects.values()],
      }));
      return;
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)$/.exec(url.pathname);
    if (m && m[1] !== undefined && m[2] !== undefined) {
      const key = `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
      const answer = (): void => {
        const obj = objects.get(key);
        if (!obj) return status(res, 404, 'NotFound', `serviceaccounts "${m[2]}" not found`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      if (api.getDelayMs > 0) {
        const t = setTimeout(answer, api.getDelayMs);
        res.on('close', () => clearTimeout(t));
      } else answer();
      return;
    }
    status(res, 404, 'NotFound', `no route for ${url.pathname}`);
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (api as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}
