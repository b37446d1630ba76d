import { review } from '../../../webhook/admission.js';
import type { ServiceAccountView } from '../../../webhook/inject/aws-identity.js';
import { admissionReview, admit, applyOps, DEPS, responseOf, TEST_CONFIG } from './helpers.js';

const pod = (
  annotations: Record<string, string> = { 'vault-irsa.io/role': 'app' },
  extra: Record<string, unknown> = {},
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'web-', annotations },
  spec: { containers: [{ name: 'app', image: 'busybox' }], ...extra },
});

describe('requests that are not an AdmissionReview get 400 with a message', () => {
  test.each([
    ['a string', 'hello', /expected a JSON object/],
    ['an array', [], /expected a JSON object/],
    ['another kind', { apiVersion: 'v1', kind: 'Pod' }, /kind is "Pod"/],
    [
      'v1beta1',
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } },
      /admission\.k8s\.io\/v1beta1.*not supported/,
    ],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /has no request/],
    [
      'no uid',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE' } },
      /has no uid/,
    ],
  ])('%s', async (_name, body, message) => {
    const r = await review(body, DEPS);
    expect(r.httpStatus).toBe(400);
    expect(r.outcome).toBe('invalid');
    expect(r.body).toMatchObject({ kind: 'Status', code: 400 });
    expect(String(r.body.message)).toMatch(message);
  });
});

describe('allowed no-ops', () => {
  test('DELETE (no object) is allowed without a patch and echoes the uid', async () => {
    const ar = admissionReview(null, { operation: 'DELETE', uid: 'del-1' });
    const r = await review(ar, DEPS);
    expect(r.httpStatus).toBe(200);
    expect(r.body).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'del-1', allowed: true },
    });
  });
  test('a non-Pod kind is allowed untouched', async () => {
    const ar = admissionReview({ kind: 'ConfigMap' });
    (ar.request as Record<string, unknown>).kind = { group: '', version: 'v1', kind: 'ConfigMap' };
    const r = responseOf(await review(ar, DEPS));
    expect(r).toMatchObject({ allowed: true, ops: [] });
  });
  test('UPDATE and subresources are not injected', async () => {
    expect(responseOf(await review(admissionReview(pod(), { operation: 'UPDATE' }), DEPS)).ops).toEqual([]);
    const ar = admissionReview(pod());
    (ar.request as Record<string, unknown>).subResource = 'ephemeralcontainers';
    expect(responseOf(await review(ar, DEPS)).ops).toEqual([]);
  });
});

describe('malformed pods are denied, not crashed on', () => {
  test.each([
    ['CREATE without object', null, /request\.object is missing/],
    ['no spec', { metadata: {} }, /spec is missing/],
    ['no containers', { spec: { containers: [] } }, /spec\.containers is missing or empty/],
    ['container without name', { spec: { containers: [{ image: 'x' }] } }, /spec\.containers\[0\] has no name/],
    [
      'env not a list',
      { spec: { containers: [{ name: 'a', env: 'X=1' }] } },
      /spec\.containers\[0\]\.env is not a list/,
    ],
    [
      'annotations not a map',
      { metadata: { annotations: ['a'] }, spec: { containers: [{ name: 'a' }] } },
      /metadata\.annotations is not a map/,
    ],
  ])('%s', async (_name, object, message) => {
    const r = responseOf(await review(admissionReview(object), DEPS));
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(400);
    expect(r.status?.message).toMatch(message);
  });
});

test("the namespace comes from the request (a Deployment's pod has none in metadata)", async () => {
  const seen: string[] = [];
  const lookup = async (ns: string, name: string): Promise<ServiceAccountView> => {
    seen.push(`${ns}/${name}`);
    return { status: 'found', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/x' } };
  };
  const r = await review(admissionReview(pod(), { namespace: 'team-a' }), {
    defaults: TEST_CONFIG,
    lookupServiceAccount: lookup,
  });
  expect(seen).toEqual(['team-a/default']);
  const injected = applyOps(pod(), responseOf(r).ops);
  const sidecar = injected.spec as unknown as {
    initContainers: Array<{ env: Array<{ name: string; value?: string }> }>;
  };
  expect(sidecar.initContainers[0]?.env.find((e) => e.name === 'AWS_ROLE_ARN')?.value).toBe(
    'arn:aws:iam::111122223333:role/x',
  );
});

test('the ServiceAccount is not looked up when the app already carries an identity', async () => {
  let calls = 0;
  const lookup = async (): Promise<ServiceAccountView> => {
    calls += 1;
    return { status: 'not_found' };
  };
  const p = pod(undefined, {
    containers: [
      {
        name: 'app',
        env: [
          { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/a' },
          { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/t/token' },
        ],
      },
    ],
  });
  const r = responseOf(await review(admissionReview(p), { defaults: TEST_CONFIG, lookupServiceAccount: lookup }));
  expect(calls).toBe(0);
  expect(r.allowed).toBe(true);
  // no mount holds /t/token: the sidecar gets the env, and the author a warning
  expect(r.warnings.join()).toMatch(/mounts no volume holding it/);
});

test('a failing ServiceAccount lookup still injects, with a warning naming the account', async () => {
  const lookup = async (): Promise<ServiceAccountView> => {
    throw new Error('connection refused');
  };
  const r = responseOf(await review(admissionReview(pod()), { defaults: TEST_CONFIG, lookupServiceAccount: lookup }));
  expect(r.allowed).toBe(true);
  expect(r.ops.length).toBeGreaterThan(0);
  expect(r.warnings.join('\n')).toMatch(/ServiceAccount demo\/default could not be read \(connection refused\)/);
  expect(r.warnings.join('\n')).toMatch(/relying on EKS Pod Identity/);
});

test("classic mode on a Job's pod warns that the Job will not complete", async () => {
  const p = { ...pod({ 'vault-irsa.io/role': 'app', 'vault-irsa.io/sidecar-mode': 'classic' }) };
  (p.metadata as Record<string, unknown>).ownerReferences = [
    { kind: 'Job', name: 'j', apiVersion: 'batch/v1', uid: 'u' },
  ];
  const { response } = await admit(p);
  expect(response.warnings.join()).toMatch(/Job.*classic mode.*will not complete/);
});

test('a container already named vault-irsa without the status annotation is denied', async () => {
  const p = pod(undefined, { containers: [{ name: 'vault-irsa', image: 'x' }, { name: 'app' }] });
  const { response } = await admit(p);
  expect(response.allowed).toBe(false);
  expect(response.status?.message).toMatch(/already has a container named "vault-irsa"/);
});

test('the CA ConfigMap setting mounts the bundle into the sidecar only and sets VAULT_CACERT', async () => {
  const defaults = { ...TEST_CONFIG, vaultCaConfigMap: { name: 'vault-ca', key: 'ca.crt' } };
  const r = responseOf(await review(admissionReview(pod()), { defaults }));
  const injected = applyOps(pod(), r.ops) as unknown as {
    spec: {
      initContainers: Array<{ env: Array<{ name: string; value?: string }>; volumeMounts: Array<{ name: string }> }>;
      containers: Array<{ volumeMounts: Array<{ name: string }> }>;
      volumes: Array<{ name: string; configMap?: unknown }>;
    };
  };
  const sidecar = injected.spec.initContainers[0];
  expect(sidecar?.env.find((e) => e.name === 'VAULT_CACERT')?.value).toBe('/etc/vault-irsa/ca/ca.crt');
  expect(sidecar?.volumeMounts.map((m) => m.name)).toContain('vault-irsa-ca');
  expect(injected.spec.containers[0]?.volumeMounts.map((m) => m.name)).not.toContain('vault-irsa-ca');
  expect(injected.spec.volumes.find((v) => v.name === 'vault-irsa-ca')?.configMap).toEqual({
    name: 'vault-ca',
    items: [{ key: 'ca.crt', path: 'ca.crt' }],
  });
});
