/** The in-cluster connection: server URL from the env, CA and token from the ServiceAccount files, token re-read. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectionFromKubeConfig,
  inClusterConnection,
  inClusterServer,
  SERVICEACCOUNT_DIR,
  TOKEN_REREAD_MS,
} from '../../../webhook/kube-connection.js';

let prefix: string;
let dir: string;
beforeEach(async () => {
  prefix = await mkdtemp(join(tmpdir(), 'vault-irsa-incluster-'));
  dir = join(prefix, SERVICEACCOUNT_DIR);
  await mkdir(dir, { recursive: true });
});
afterEach(() => rm(prefix, { recursive: true, force: true }));

const ENV = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

test('the server URL is built as client-node builds it', () => {
  expect(inClusterServer(ENV).href).toBe('https://10.0.0.1/');
  expect(inClusterServer({ ...ENV, KUBERNETES_SERVICE_PORT: '6443' }).href).toBe('https://10.0.0.1:6443/');
  expect(inClusterServer({ ...ENV, KUBERNETES_SERVICE_PORT: '8080' }).protocol).toBe('http:');
  expect(inClusterServer({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }).hostname).toBe(
    '[fd00::1]',
  );
  expect(() => inClusterServer({})).toThrow(/KUBERNETES_SERVICE_HOST is not set/);
  expect(() => inClusterServer({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: 'https' })).toThrow(
    /KUBERNETES_SERVICE_PORT is not a port number: "https"/,
  );
  expect(() => inClusterServer({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '70000' })).toThrow(
    /not a port/,
  );
});

test('the token is sent as a bearer token and read again once it is older than 60 s (kubelet rotation)', async () => {
  await writeFile(join(dir, 'token'), 'token-one\n');
  await writeFile(join(dir, 'ca.crt'), 'CA PEM');
  let now = 1_000_000;
  const conn = inClusterConnection({ env: ENV, pathPrefix: prefix, now: () => now });
  const auth = async (): Promise<RequestOptions> => {
    const o: RequestOptions = { headers: { accept: 'application/json' } };
    await conn.authorize(o);
    return o;
  };
  const first = await auth();
  expect(first.headers).toEqual({ accept: 'application/json', authorization: 'Bearer token-one' });
  expect(String(first.ca)).toBe('CA PEM');

  await writeFile(join(dir, 'token'), 'token-two');
  now += TOKEN_REREAD_MS; // not older than 60 s yet
  expect((await auth()).headers).toMatchObject({ authorization: 'Bearer token-one' });
  now += 1;
  expect((await auth()).headers).toMatchObject({ authorization: 'Bearer token-two' });
});

test('concurrent requests share one read of the files', async () => {
  await writeFile(join(dir, 'token'), 't');
  await writeFile(join(dir, 'ca.crt'), 'CA');
  const conn = inClusterConnection({ env: ENV, pathPrefix: prefix });
  const opts = Array.from({ length: 20 }, (): RequestOptions => ({}));
  await Promise.all(opts.map((o) => conn.authorize(o)));
  expect(new Set(opts.map((o) => o.ca)).size).toBe(1);
});

test('a missing or empty token, or a missing CA, is an error naming the file', async () => {
  const conn = inClusterConnection({ env: ENV, pathPrefix: prefix });
  await expect(conn.authorize({})).rejects.toThrow(
    `cannot read the ServiceAccount token ${join(dir, 'token')}: ENOENT`,
  );
  await writeFile(join(dir, 'token'), ' \n');
  await expect(conn.authorize({})).rejects.toThrow(/ServiceAccount token .* is empty/);
  await writeFile(join(dir, 'token'), 'ok');
  await expect(conn.authorize({})).rejects.toThrow(`cannot read the cluster CA ${join(dir, 'ca.crt')}: ENOENT`);
  // plain http (kubectl proxy's port) needs no CA
  const plain = inClusterConnection({ env: { ...ENV, KUBERNETES_SERVICE_PORT: '8001' }, pathPrefix: prefix });
  const o: RequestOptions = {};
  await plain.authorize(o);
  expect(o.ca).toBeUndefined();
});

test('a KubeConfig becomes a connection through its own applyToHTTPSOptions', async () => {
  const seen: RequestOptions[] = [];
  const conn = connectionFromKubeConfig({
    getCurrentCluster: () => ({ server: 'https://api.example:6443' }),
    applyToHTTPSOptions: (o) => {
      seen.push(o);
      return Promise.resolve();
    },
  });
  expect(conn.server.href).toBe('https://api.example:6443/');
  const o: RequestOptions = {};
  await conn.authorize(o);
  expect(seen).toEqual([o]);
  expect(() =>
    connectionFromKubeConfig({ getCurrentCluster: () => null, applyToHTTPSOptions: () => Promise.resolve() }),
  ).toThrow(/no current cluster/);
});
