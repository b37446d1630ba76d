/**
 * A small Kubernetes API server stand-in for ServiceAccounts, speaking the real list/watch protocol that
 * @kubernetes/client-node's informer uses:
 *  - GET /api/v1/serviceaccounts → ServiceAccountList with metadata.resourceVersion;
 *  - GET /api/v1/serviceaccounts?watch=true&resourceVersion=N → a chunked stream of JSON lines
 *    {"type": "ADDED"|"MODIFIED"|"DELETED", "object": {...}} for every change after N, kept open;
 *  - GET /api/v1/namespaces/<ns>/serviceaccounts/<name> → the object, or a 404 Status.
 * and, for the webhook's TLS mode `auto`, Secrets and MutatingWebhookConfigurations with the API server's
 * optimistic concurrency:
 *  - GET/PUT /api/v1/namespaces/<ns>/secrets/<name>, POST /api/v1/namespaces/<ns>/secrets;
 *  - GET/PUT /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/<name>;
 *  - a PUT whose metadata.resourceVersion is not the stored one → 409 Conflict; a POST of an existing name →
 *    409 AlreadyExists; a verb on a resource listed in `forbidden` → 403 (RBAC's answer).
 * Plain HTTP on 127.0.0.1, or HTTPS with `tls`; `writeKubeconfig` points a client at it, `writeInCluster` lays
 * out a pod's ServiceAccount files and returns the KUBERNETES_SERVICE_* variables.
 * The list honours `limit` and `continue`; the watch sends BOOKMARK events on `sendBookmark`, answers a
 * resourceVersion older than `goneBelow` with 410 Gone (as an HTTP status or an ERROR event), and can be fed
 * raw lines. With `tokens`, a request without `Authorization: Bearer <one of them>` gets 401.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export interface ServiceAccountObject {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    annotations?: Record<string, string>;
  };
}

export type Obj = Record<string, unknown>;

export interface FakeKubeApi {
  readonly url: string;
  /** e.g. 'get secrets', 'update mutatingwebhookconfigurations', 'create secrets': answered 403 */
  readonly forbidden: Set<string>;
  /** stores (or replaces) a Secret; without data it is the empty Secret install.yaml ships */
  putSecret(namespace: string, name: string, data?: Record<string, string>): void;
  getSecret(namespace: string, name: string): Obj | undefined;
  deleteSecret(namespace: string, name: string): void;
  putWebhookConfiguration(obj: Obj): void;
  getWebhookConfiguration(name: string): Obj | undefined;
  /** the next `n` Secret writes (PUT or POST) wait until all `n` have arrived, then run in arrival order */
  gateSecretWrites(n: number): void;
  upsertServiceAccount(namespace: string, name: string, annotations?: Record<string, string>): void;
  deleteServiceAccount(namespace: string, name: string): void;
  /** every request: method, path, query (e.g. watch=true&resourceVersion=3), the Authorization header */
  readonly requests: ReadonlyArray<{ method: string; path: string; query: string; auth?: string }>;
  /** when set, the bearer tokens accepted; any other request gets 401 */
  tokens: Set<string> | undefined;
  /** a watch from a resourceVersion below this is answered 410 Gone */
  goneBelow: number;
  /** how a 410 is given: the HTTP status, or (as the watch cache does) a 200 with one ERROR event */
  goneAs: 'status' | 'event';
  /** the current resourceVersion */
  readonly resourceVersion: number;
  /** a BOOKMARK with the current resourceVersion on every open watch */
  sendBookmark(): void;
  /** an ERROR event with this code on every open watch, which then ends */
  sendWatchError(code: number): void;
  /** these bytes, as they are, on every open watch */
  writeToWatches(raw: string): void;
  /** the pod's ServiceAccount files under `prefix` (token, ca.crt when TLS, namespace) and the env for them */
  writeInCluster(prefix: string, token: string, namespace?: string): Promise<Record<string, string>>;
  /** delay answers to single-object GETs (to test the webhook's timeout) */
  getDelayMs: number;
  /** answer list requests with this status (e.g. 500) instead of the list */
  listStatus: number;
  /** number of watch streams currently open */
  readonly openWatches: number;
  /** ends every open watch stream, as an API server does on its own timeout */
  dropWatches(): void;
  /** cuts every open watch's TCP connection mid-stream, as a failing node or load balancer does */
  cutWatches(): void;
  /**
   * A kubeconfig for it. `markInsecure` (default true) adds `insecure-skip-tls-verify`, without which client-node
   * alone refuses plain http; false writes what a user would, to check the webhook copes.
   */
  writeKubeconfig(dir: string, opts?: { markInsecure?: boolean }): Promise<string>;
  close(): Promise<void>;
}

type Event = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: ServiceAccountObject; rv: number };

export async function startFakeKubeApi(opts: { tls?: { cert: string; key: string } } = {}): Promise<FakeKubeApi> {
  const objects = new Map<string, ServiceAccountObject>();
  const secrets = new Map<string, Obj>();
  const webhookConfigs = new Map<string, Obj>();
  let gate: { n: number; waiting: Array<() => void> } | undefined;
  const history: Event[] = [];
  const watchers = new Set<{ res: ServerResponse; after: number }>();
  const sockets = new Set<Socket>();
  const requests: Array<{ method: string; path: string; query: string; auth?: string }> = [];
  let rv = 1;
  let uid = 0;

  const status = (res: ServerResponse, code: number, reason: string, message: string): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }),
    );
  };

  const emit = (type: Event['type'], object: ServiceAccountObject): void => {
    const ev = { type, object: structuredClone(object), rv };
    history.push(ev);
    for (const w of watchers)
      if (ev.rv > w.after) w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
  };

  const stamp = (o: Obj, existing?: Obj): Obj => {
    rv += 1;
    const md = { ...((o.metadata as Obj | undefined) ?? {}) };
    md.resourceVersion = String(rv);
    md.uid = (existing?.metadata as Obj | undefined)?.uid ?? `uid-${++uid}`;
    return { ...structuredClone(o), metadata: md };
  };

  const api: FakeKubeApi = {
    url: '',
    forbidden: new Set<string>(),
    putSecret(namespace, name, data) {
      const key = `${namespace}/${name}`;
      secrets.set(
        key,
        stamp(
          {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'Opaque',
            metadata: { name, namespace },
            ...(data ? { data } : {}),
          },
          secrets.get(key),
        ),
      );
    },
    getSecret: (namespace, name) => structuredClone(secrets.get(`${namespace}/${name}`)),
    deleteSecret: (namespace, name) => void secrets.delete(`${namespace}/${name}`),
    putWebhookConfiguration(obj) {
      const name = String((obj.metadata as Obj).name);
      webhookConfigs.set(name, stamp(obj, webhookConfigs.get(name)));
    },
    getWebhookConfiguration: (name) => structuredClone(webhookConfigs.get(name)),
    gateSecretWrites(n) {
      gate = { n, waiting: [] };
    },
    requests,
    tokens: undefined,
    goneBelow: 0,
    goneAs: 'status',
    get resourceVersion() {
      return rv;
    },
    sendBookmark() {
      const line = JSON.stringify({
        type: 'BOOKMARK',
        object: { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } },
      });
      for (const w of watchers) w.res.write(`${line}\n`);
    },
    sendWatchError(code) {
      const line = JSON.stringify({
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          code,
          reason: code === 410 ? 'Expired' : 'InternalError',
        },
      });
      for (const w of watchers) w.res.end(`${line}\n`);
      watchers.clear();
    },
    writeToWatches(raw) {
      for (const w of watchers) w.res.write(raw);
    },
    async writeInCluster(prefix, token, namespace = 'vault-irsa') {
      const dir = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'token'), token);
      await writeFile(join(dir, 'namespace'), namespace);
      if (opts.tls) await writeFile(join(dir, 'ca.crt'), opts.tls.cert);
      const u = new URL(api.url);
      return { KUBERNETES_SERVICE_HOST: u.hostname, KUBERNETES_SERVICE_PORT: u.port };
    },
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
          name,
          namespace,
          uid: existing?.metadata.uid ?? `uid-${++uid}`,
          resourceVersion: String(rv),
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
    cutWatches() {
      for (const w of watchers) w.res.socket?.destroy();
      watchers.clear();
    },
    dropWatches() {
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
    async writeKubeconfig(dir, opts = {}) {
      await mkdir(dir, { recursive: true });
      const path = join(dir, 'kubeconfig');
      await writeFile(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          '- name: fake',
          '  cluster:',
          `    server: ${api.url}`,
          ...(opts.markInsecure === false ? [] : ['    insecure-skip-tls-verify: true']),
          'users:',
          '- name: fake',
          '  user:',
          '    token: fake-kube-token',
          'contexts:',
          '- name: fake',
          '  context:',
          '    cluster: fake',
          '    user: fake',
          'current-context: fake',
          '',
        ].join('\n'),
      );
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
    const auth = req.headers.authorization;
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams.toString(),
      ...(auth !== undefined ? { auth } : {}),
    });
    if (api.tokens && !(auth?.startsWith('Bearer ') && api.tokens.has(auth.slice(7))))
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (handleWritable(req, res, url)) return;
    if (req.method !== 'GET') return status(res, 405, 'MethodNotAllowed', 'only GET is served');

    if (url.pathname === '/api/v1/serviceaccounts') {
      if (url.searchParams.get('watch') === 'true') {
        const after = Number(url.searchParams.get('resourceVersion') ?? '0') || 0;
        if (after < api.goneBelow && api.goneAs === 'status')
          return status(res, 410, 'Expired', `too old resource version: ${after} (${api.goneBelow})`);
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        // a client's fetch resolves on the headers; send them before the first event
        res.flushHeaders();
        if (after < api.goneBelow) {
          res.end(
            `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired' } })}\n`,
          );
          return;
        }
        for (const ev of history)
          if (ev.rv > after) res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
        const w = { res, after };
        watchers.add(w);
        res.on('close', () => watchers.delete(w));
        return;
      }
      if (api.listStatus !== 200) return status(res, api.listStatus, 'InternalError', 'list failed (fault injected)');
      const all = [...objects.values()];
      const limit = Number(url.searchParams.get('limit') ?? '0') || all.length;
      const from = Number(url.searchParams.get('continue') ?? '0') || 0;
      const more = from + limit < all.length;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'ServiceAccountList',
          apiVersion: 'v1',
          metadata: { resourceVersion: String(rv), ...(more ? { continue: String(from + limit) } : {}) },
          items: all.slice(from, from + limit),
        }),
      );
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

  const json = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  /** Secrets and MutatingWebhookConfigurations; false when the path is neither. */
  const handleWritable = (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    const secretM = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(url.pathname);
    const hookM = /^\/apis\/admissionregistration\.k8s\.io\/v1\/mutatingwebhookconfigurations\/([^/]+)$/.exec(
      url.pathname,
    );
    if (!secretM && !hookM) return false;
    const resource = secretM ? 'secrets' : 'mutatingwebhookconfigurations';
    const verb = ({ GET: 'get', POST: 'create', PUT: 'update' } as Record<string, string>)[req.method ?? ''];
    if (verb === undefined || (secretM && (verb === 'create') !== (secretM[2] === undefined))) {
      status(res, 405, 'MethodNotAllowed', `${req.method ?? ''} ${url.pathname} is not served`);
      return true;
    }
    if (api.forbidden.has(`${verb} ${resource}`)) {
      status(
        res,
        403,
        'Forbidden',
        `${resource} is forbidden: User "system:serviceaccount:test:webhook" cannot ${verb} resource "${resource}"`,
      );
      return true;
    }
    const store = secretM ? secrets : webhookConfigs;
    const ns = secretM ? decodeURIComponent(secretM[1] ?? '') : '';
    const name = decodeURIComponent((secretM ? secretM[2] : hookM?.[1]) ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const run = (): void => {
        if (verb === 'get') {
          const o = store.get(secretM ? `${ns}/${name}` : name);
          if (!o) return status(res, 404, 'NotFound', `${resource} "${name}" not found`);
          return json(res, 200, o);
        }
        let body: Obj;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Obj;
        } catch {
          return status(res, 400, 'BadRequest', 'body is not JSON');
        }
        const md = (body.metadata as Obj | undefined) ?? {};
        const bodyName = String(md.name ?? '');
        const key = secretM ? `${ns}/${bodyName}` : bodyName;
        const existing = store.get(key);
        if (verb === 'create') {
          if (existing) return status(res, 409, 'AlreadyExists', `${resource} "${bodyName}" already exists`);
          const created = stamp({ ...body, metadata: { ...md, namespace: ns } });
          store.set(key, created);
          return json(res, 201, created);
        }
        if (bodyName !== name) return status(res, 400, 'BadRequest', 'the name in the body does not match the URL');
        if (!existing) return status(res, 404, 'NotFound', `${resource} "${name}" not found`);
        const want = md.resourceVersion;
        if (want !== undefined && want !== (existing.metadata as Obj).resourceVersion) {
          return status(
            res,
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          );
        }
        const updated = stamp(body, existing);
        store.set(key, updated);
        return json(res, 200, updated);
      };
      if (secretM && verb !== 'get' && gate) {
        const g = gate;
        g.waiting.push(run);
        if (g.waiting.length >= g.n) {
          gate = undefined;
          for (const w of g.waiting) w();
        }
        return;
      }
      run();
    });
    return true;
  };

  const server = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handle)
    : createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (api as { url: string }).url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}
