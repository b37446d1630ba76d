/** ServiceAccount lookups through @kubernetes/client-node's informer against a fake API server speaking list/watch. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { review } from '../../../webhook/admission.js';
import { ServiceAccountCache, type LookupResultLabel } from '../../../webhook/service-accounts.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../support/fake-kube-api.js';
import { admissionReview, applyOps, responseOf, TEST_CONFIG } from '../../unit/webhook/helpers.js';

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ROLE = 'arn:aws:iam::111122223333:role/from-sa';
let kube: FakeKubeApi;
let dir: string;
let cache: ServiceAccountCache | undefined;
let lookups: LookupResultLabel[];

async function makeCache(getTimeoutMs = 2000): Promise<ServiceAccountCache> {
  const kc = new KubeConfig();
  kc.loadFromFile(await kube.writeKubeconfig(dir));
  cache = new ServiceAccountCache({
    kubeConfig: kc,
    getTimeoutMs,
    onLookup: (r) => lookups.push(r),
    restartDelayMs: 50,
  });
  return cache;
}

beforeEach(async () => {
  kube = await startFakeKubeApi();
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-kube-'));
  lookups = [];
});
afterEach(async () => {
  await cache?.stop();
  cache = undefined;
  await kube.close();
  await rm(dir, { recursive: true, force: true });
});

test('lookups are answered from the informer cache, which follows the watch', async () => {
  kube.upsertServiceAccount('demo', 'app', { 'eks.amazonaws.com/role-arn': ROLE });
  const c = await makeCache();
  await c.start();
  expect(kube.requests.some((r) => r.path === '/api/v1/serviceaccounts' && !r.query.includes('watch'))).toBe(true);
  await waitFor(() => kube.openWatches === 1, 'the watch');

  expect(await c.lookup('demo', 'app')).toEqual({
    status: 'found',
    annotations: { 'eks.amazonaws.com/role-arn': ROLE },
  });
  expect(lookups).toEqual(['cache']);
  expect(kube.requests.some((r) => r.path.startsWith('/api/v1/namespaces/'))).toBe(false);

  // a change arrives over the watch, not by a GET
  kube.upsertServiceAccount('demo', 'app', { 'eks.amazonaws.com/role-arn': `${ROLE}-2` });
  kube.upsertServiceAccount('team', 'new', { 'eks.amazonaws.com/audience': 'custom' });
  await waitFor(
    async () => (await c.lookup('team', 'new')).status === 'found' && lookups.at(-1) === 'cache',
    'the watched ADDED event',
  );
  expect(await c.lookup('demo', 'app')).toEqual({
    status: 'found',
    annotations: { 'eks.amazonaws.com/role-arn': `${ROLE}-2` },
  });
  kube.deleteServiceAccount('demo', 'app');
  await waitFor(async () => (await c.lookup('demo', 'app')).status === 'not_found', 'the watched DELETED event');
  // a watch the server ends is resumed from the last resourceVersion
  kube.dropWatches();
  await waitFor(() => kube.openWatches === 1, 'the re-established watch');
  const rewatch = kube.requests.filter((r) => r.query.includes('watch=true')).at(-1);
  expect(rewatch?.query).toMatch(/resourceVersion=[1-9]/);
});

test('a miss costs one GET; 404 means not found', async () => {
  const c = await makeCache();
  await c.start();
  expect(await c.lookup('demo', 'nobody')).toEqual({ status: 'not_found' });
  expect(kube.requests.filter((r) => r.path === '/api/v1/namespaces/demo/serviceaccounts/nobody')).toHaveLength(1);
});

test('while the list fails, lookups fall back to GET; a slow GET times out as unavailable', async () => {
  kube.listStatus = 500;
  kube.upsertServiceAccount('demo', 'app', { 'eks.amazonaws.com/role-arn': ROLE });
  const c = await makeCache(300);
  await c.start();
  expect(await c.lookup('demo', 'app')).toEqual({
    status: 'found',
    annotations: { 'eks.amazonaws.com/role-arn': ROLE },
  });
  expect(lookups).toEqual(['api']);

  kube.getDelayMs = 5_000;
  const slow = await c.lookup('demo', 'app');
  expect(slow).toEqual({ status: 'unavailable', reason: expect.stringMatching(/timed out after 300 ms/) });

  // the informer keeps retrying and syncs once the API server recovers
  kube.getDelayMs = 0;
  kube.listStatus = 200;
  // synced: the same lookup is answered from the cache again
  await waitFor(async () => {
    lookups = [];
    await c.lookup('demo', 'app');
    return lookups[0] === 'cache';
  }, 'the informer to recover');
});

test('an admission takes the role ARN and token settings from the ServiceAccount', async () => {
  kube.upsertServiceAccount('demo', 'irsa', {
    'eks.amazonaws.com/role-arn': ROLE,
    'eks.amazonaws.com/audience': 'sts.example',
    'eks.amazonaws.com/token-expiration': '100',
  });
  const c = await makeCache();
  await c.start();
  const pod = {
    metadata: { generateName: 'x-', annotations: { 'vault-irsa.io/role': 'app' } },
    spec: { serviceAccountName: 'irsa', containers: [{ name: 'app' }] },
  };
  const r = responseOf(
    await review(admissionReview(pod, { namespace: 'demo' }), {
      defaults: TEST_CONFIG,
      lookupServiceAccount: (ns, n) => c.lookup(ns, n),
    }),
  );
  expect(r.warnings).toEqual([]);
  const out = applyOps(pod, r.ops) as unknown as {
    spec: {
      initContainers: Array<{ env: Array<{ name: string; value: string }> }>;
      volumes: Array<{ name: string; projected?: { sources: Array<{ serviceAccountToken: unknown }> } }>;
    };
  };
  expect(out.spec.initContainers[0]?.env).toContainEqual({ name: 'AWS_ROLE_ARN', value: ROLE });
  // the EKS webhook's floor of 600 seconds applies
  expect(out.spec.volumes.find((v) => v.name === 'aws-iam-token')?.projected?.sources[0]?.serviceAccountToken).toEqual({
    audience: 'sts.example',
    expirationSeconds: 600,
    path: 'token',
  });
});
