/**
 * The ServiceAccount cache's own list/watch (no client-node) against the stand-in API server over HTTPS, with
 * in-cluster style credentials (token and ca.crt files under a temporary prefix): list pages, watch events,
 * bookmarks, 410 Gone both ways, ERROR events, dropped connections, token rotation and lines that are not events.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { inClusterConnection, SERVICEACCOUNT_DIR } from '../../../webhook/kube-connection.js';
import { ServiceAccountCache, type LookupResultLabel } from '../../../webhook/service-accounts.js';
import { makeTestCert, type TestCert } from '../../../stand-ins/tls.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../support/fake-kube-api.js';
import { waitFor } from './webhook-process.js';

const ROLE = 'arn:aws:iam::111122223333:role/from-sa';
let cert: TestCert;
let kube: FakeKubeApi;
let prefix: string;
let env: Record<string, string>;
let cache: ServiceAccountCache | undefined;
let lookups: LookupResultLabel[];
let errors: string[];
let now: number;

beforeAll(async () => {
  cert = await makeTestCert({ dnsNames: ['localhost'], ips: ['127.0.0.1'] });
});
beforeEach(async () => {
  kube = await startFakeKubeApi({ tls: cert });
  prefix = await mkdtemp(join(tmpdir(), 'vault-irsa-lw-'));
  env = await kube.writeInCluster(prefix, 'token-one');
  kube.tokens = new Set(['token-one']);
  lookups = [];
  errors = [];
  now = Date.now();
});
afterEach(async () => {
  await cache?.stop();
  cache = undefined;
  await kube.close();
  await rm(prefix, { recursive: true, force: true });
});

function makeCache(
  opts: {
    listPageSize?: number;
    watchTimeoutSeconds?: number;
    restartDelayMs?: number;
    maxRestartDelayMs?: number;
  } = {},
): ServiceAccountCache {
  cache = new ServiceAccountCache({
    connection: inClusterConnection({ env, pathPrefix: prefix, now: () => now }),
    getTimeoutMs: 2000,
    onLookup: (r) => lookups.push(r),
    onInformerError: (m) => errors.push(m),
    restartDelayMs: 20,
    maxRestartDelayMs: 160,
    ...opts,
  });
  return cache;
}

const lists = (): number =>
  kube.requests.filter((r) => r.path === '/api/v1/serviceaccounts' && !r.query.includes('watch')).length;
const watches = (): Array<URLSearchParams> =>
  kube.requests.filter((r) => r.query.includes('watch=true')).map((r) => new URLSearchParams(r.query));

/** A cache that has listed the cluster and opened its watch; demo/app (role ROLE) is in it unless `empty`. */
async function watchingCache(opts: { empty?: boolean } = {}): Promise<ServiceAccountCache> {
  if (!opts.empty) kube.upsertServiceAccount('demo', 'app', { 'eks.amazonaws.com/role-arn': ROLE });
  const c = makeCache();
  await c.start();
  await waitFor(() => kube.openWatches === 1, 'the watch');
  return c;
}

async function cachedRole(c: ServiceAccountCache, ns: string, name: string): Promise<string | undefined> {
  lookups = [];
  const v = await c.lookup(ns, name);
  return lookups[0] === 'cache' && v.status === 'found' ? v.annotations['eks.amazonaws.com/role-arn'] : undefined;
}

test('lists in pages, watches with bookmarks and a timeout, follows ADDED/MODIFIED/DELETED', async () => {
  for (let i = 0; i < 5; i++)
    kube.upsertServiceAccount('demo', `sa${i}`, { 'eks.amazonaws.com/role-arn': `${ROLE}${i}` });
  const c = makeCache({ listPageSize: 2 });
  await c.start();
  expect(lists()).toBe(3);
  expect(c.size).toBe(5);
  await waitFor(() => kube.openWatches === 1, 'the watch');
  const w = watches()[0];
  expect(w?.get('allowWatchBookmarks')).toBe('true');
  expect(w?.get('timeoutSeconds')).toBe('300');
  expect(w?.get('resourceVersion')).toBe(String(kube.resourceVersion));
  // every request carried the token from the file
  expect(new Set(kube.requests.map((r) => r.auth))).toEqual(new Set(['Bearer token-one']));

  expect(await cachedRole(c, 'demo', 'sa3')).toBe(`${ROLE}3`);
  kube.upsertServiceAccount('demo', 'sa3', { 'eks.amazonaws.com/role-arn': 'changed' });
  kube.upsertServiceAccount('other', 'new', { 'eks.amazonaws.com/role-arn': 'new' });
  await waitFor(async () => (await cachedRole(c, 'other', 'new')) === 'new', 'ADDED');
  expect(await cachedRole(c, 'demo', 'sa3')).toBe('changed');
  kube.deleteServiceAccount('demo', 'sa3');
  await waitFor(async () => (await c.lookup('demo', 'sa3')).status === 'not_found', 'DELETED');
  expect(c.size).toBe(5);
  expect(errors).toEqual([]);
});

test('a bookmark moves the resourceVersion a renewed watch starts from; a dropped watch resumes without a list', async () => {
  const c = await watchingCache();
  // changes elsewhere in the cluster move the resourceVersion without an event for this watch
  kube.putSecret('demo', 'unrelated');
  kube.putSecret('demo', 'unrelated');
  const rv = kube.resourceVersion;
  kube.sendBookmark();
  await new Promise((r) => setTimeout(r, 100));
  kube.dropWatches();
  await waitFor(() => kube.openWatches === 1 && watches().length === 2, 'the renewed watch');
  expect(watches()[1]?.get('resourceVersion')).toBe(String(rv));
  expect(lists()).toBe(1);
  expect(await cachedRole(c, 'demo', 'app')).toBe(ROLE);
  expect(errors).toEqual([]);
});

test('a watch connection cut mid-stream is reported and resumed from the last resourceVersion', async () => {
  const c = await watchingCache();
  kube.writeToWatches('{"type":"ADDED","obj'); // half an event, then the connection is gone
  await new Promise((r) => setTimeout(r, 50));
  kube.cutWatches();
  await waitFor(() => kube.openWatches === 1 && watches().length === 2, 'the resumed watch');
  expect(watches()[1]?.get('resourceVersion')).toBe(watches()[0]?.get('resourceVersion'));
  expect(lists()).toBe(1);
  expect(errors).toHaveLength(1);
  expect(await cachedRole(c, 'demo', 'app')).toBe(ROLE);
});

test.each(['status', 'event'] as const)(
  '410 Gone given as %s: the cache lists again and keeps watching',
  async (goneAs) => {
    const c = await watchingCache();
    kube.goneAs = goneAs;
    kube.goneBelow = kube.resourceVersion + 1;
    // changed while the watch is away, after which the old resourceVersion is gone
    kube.dropWatches();
    kube.upsertServiceAccount('demo', 'app', { 'eks.amazonaws.com/role-arn': 'after-gone' });
    kube.deleteServiceAccount('demo', 'app');
    kube.upsertServiceAccount('demo', 'app', { 'eks.amazonaws.com/role-arn': 'after-gone' });
    await waitFor(() => lists() === 2 && kube.openWatches === 1, 'the new list and watch');
    expect(await cachedRole(c, 'demo', 'app')).toBe('after-gone');
    // 410 is the protocol, not a failure to report
    expect(errors).toEqual([]);
  },
);

test.each(['status', 'event'] as const)(
  'a 410 given as %s to every watch: one list at once, then lists back off instead of looping',
  async (goneAs) => {
    const c = await watchingCache();
    kube.goneAs = goneAs;
    kube.goneBelow = kube.resourceVersion + 1_000_000;
    kube.dropWatches();
    await new Promise((r) => setTimeout(r, 1000));
    // 20, 40, 80, 160, 160 ms ...: under a dozen lists in a second (an immediate list every time made thousands)
    expect(lists()).toBeGreaterThanOrEqual(3);
    expect(lists()).toBeLessThan(15);
    expect(await c.lookup('demo', 'app')).toMatchObject({ status: 'found' });
  },
);

test('a watch that fails at once every time is retried with a growing delay, not every restartDelayMs', async () => {
  const c = makeCache({ restartDelayMs: 50, maxRestartDelayMs: 10_000 });
  await c.start();
  const t0 = Date.now();
  let seen = 0;
  // every new watch gets a line that is not an event: list, watch, fail, again
  while (Date.now() - t0 < 1200) {
    if (kube.openWatches > 0) {
      kube.writeToWatches('not an event\n');
      seen += 1;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  // 50, 100, 200, 400 ms: about five lists in 1.2 s; a delay reset on every 200 made one every 50 ms (~20)
  expect(seen).toBeGreaterThanOrEqual(2);
  expect(lists()).toBeLessThanOrEqual(7);
});

test('an ERROR event other than 410 is reported and answered with a new list', async () => {
  const c = await watchingCache();
  kube.sendWatchError(500);
  await waitFor(() => lists() === 2 && kube.openWatches === 1, 'the new list and watch');
  expect(errors).toEqual(['watch ERROR event: HTTP 500']);
  expect(await cachedRole(c, 'demo', 'app')).toBe(ROLE);
});

test('a rotated token file is used once the copy in memory is older than 60 s', async () => {
  const c = await watchingCache({ empty: true });
  await writeFile(join(prefix, SERVICEACCOUNT_DIR, 'token'), 'token-two');
  kube.tokens = new Set(['token-two']);
  now += 61_000;
  kube.dropWatches();
  await waitFor(() => kube.openWatches === 1 && watches().length === 2, 'the watch with the new token');
  expect(kube.requests.at(-1)?.auth).toBe('Bearer token-two');
  expect(await c.lookup('demo', 'nobody')).toEqual({ status: 'not_found' });
  expect(errors).toEqual([]);
});

test('a 401 is reported by status only and retried with a growing delay', async () => {
  kube.tokens = new Set(['another']);
  const c = makeCache();
  await c.start();
  await waitFor(() => errors.length >= 3, 'retries');
  expect(new Set(errors)).toEqual(new Set(['HTTP 401']));
  // 20, 40, 80 ms ...: four attempts take well over 20 ms x 4
  expect(await c.lookup('demo', 'app')).toEqual({ status: 'unavailable', reason: 'HTTP 401' });
});

const GARBAGE = [
  'not json at all',
  '{"type":"ADDED","object":{"metadata":{"name":"x"}}}',
  '{"type":"SURPRISE","object":{}}',
  '[]',
  '{"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"demo","annotations":{"k":[1]}}}}',
];

test.each(GARBAGE)('a watch line that is not an event (%s) is reported, then the cache lists again', async (line) => {
  const c = await watchingCache();
  kube.writeToWatches(`${line}\n`);
  await waitFor(() => lists() === 2 && kube.openWatches === 1, 'the new list and watch');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/^watch /);
  expect(errors[0]).not.toContain(line);
  expect(await cachedRole(c, 'demo', 'app')).toBe(ROLE);
});

test('a line longer than the bound is refused before it is held whole', async () => {
  await watchingCache({ empty: true });
  kube.writeToWatches('x'.repeat(1024 * 1024 + 10));
  await waitFor(() => lists() === 2, 'the new list');
  expect(errors[0]).toMatch(/watch line longer than 1048576 characters/);
});

test('any garbage on the watch: never a crash, always a reported error and a new list, and the cache still answers', async () => {
  kube.upsertServiceAccount('demo', 'app', { 'eks.amazonaws.com/role-arn': ROLE });
  const c = makeCache();
  await c.start();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string({ minLength: 1 }).filter((s) => !s.includes('\n') && s.trim() !== ''),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.anything().map((object) => JSON.stringify({ type: 'ADDED', object })),
      ),
      async (line) => {
        await waitFor(() => kube.openWatches === 1, 'the watch');
        const before = lists();
        errors = [];
        kube.writeToWatches(`${line}\n`);
        // a line that happens to be a valid event is applied; anything else is an error and a new list
        await new Promise((r) => setTimeout(r, 30));
        if (errors.length > 0) {
          expect(errors[0]).toMatch(/^watch /);
          await waitFor(() => lists() > before && kube.openWatches === 1, 'the new list and watch');
        }
        // an object the garbage added would be a cluster object; the real one is still there either way
        expect(await cachedRole(c, 'demo', 'app')).toBe(ROLE);
      },
    ),
    { numRuns: 15 },
  );
});
