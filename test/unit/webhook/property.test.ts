/**
 * Property tests: for arbitrary pods and annotation maps the handler never throws, always answers a
 * well-formed AdmissionReview (or a 400 Status), and injection is idempotent.
 */
import fc from 'fast-check';
import { review } from '../../../webhook/admission.js';
import { planFromAnnotations } from '../../../webhook/annotations.js';
import { resolveAwsIdentity } from '../../../webhook/inject/aws-identity.js';
import { appContainers, injectPod } from '../../../webhook/inject/index.js';
import { podPatch } from '../../../webhook/patch.js';
import type { Pod } from '../../../webhook/plan.js';
import { admissionReview, applyOps, DEPS, responseOf, TEST_CONFIG } from './helpers.js';

const annotationValue = fc.oneof(
  fc.constantFrom(
    'app',
    'native',
    'classic',
    'false',
    'true',
    'injected',
    '8765',
    '8766',
    '9000',
    '0',
    '65536',
    '30s',
    '5m',
    'x',
    'secret/my-app',
    'database/creds/app',
    '../etc',
    '/abs',
    '',
    ' ',
    'https://vault.example.com:8200',
    'https://evil.example',
    'arn:aws:iam::111122223333:role/app',
    'arn:aws:iam::1:role/x',
    'us-east-1',
    'eu-west-1',
    '10m',
    '64Mi',
    'lots',
    '1Gi',
  ),
  fc.string({ maxLength: 20 }),
);
const annotationKey = fc.oneof(
  fc
    .constantFrom(
      'role',
      'inject',
      'status',
      'auth-mount',
      'vault-addr',
      'vault-namespace',
      'iam-server-id-header',
      'sts-region',
      'aws-role-arn',
      'port',
      'health-port',
      'sidecar-mode',
      'refresh',
      'cpu-request',
      'cpu-limit',
      'memory-request',
      'memory-limit',
      'secret-db',
      'secret-config',
      'secret-A',
      'secret-',
      'secrets-db',
      'unknown',
    )
    .map((k) => `vault-irsa.io/${k}`),
  fc.string({ maxLength: 15 }),
);
const validAnnotations = fc.record(
  {
    'vault-irsa.io/secret-db': fc.constantFrom('secret/db', 'database/creds/app'),
    'vault-irsa.io/sidecar-mode': fc.constantFrom('native', 'classic'),
    'vault-irsa.io/port': fc.constantFrom('9100', '8765'),
    'vault-irsa.io/aws-role-arn': fc.constant('arn:aws:iam::111122223333:role/app'),
    'vault-irsa.io/memory-request': fc.constantFrom('16Mi', '128Mi'),
  },
  { requiredKeys: [] },
);
const annotations = fc
  .oneof(
    { arbitrary: validAnnotations, weight: 3 },
    { arbitrary: fc.dictionary(annotationKey, annotationValue, { maxKeys: 8 }), weight: 2 },
  )
  .map((a) => ({ 'vault-irsa.io/role': 'app', ...a }));

const env = fc.array(
  fc.record({
    name: fc.constantFrom(
      'A',
      'VAULT_IRSA_ADDR',
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
      'AWS_REGION',
    ),
    value: fc.constantFrom(
      'x',
      '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
      'arn:aws:iam::111122223333:role/a',
    ),
  }),
  { maxLength: 4 },
);
const mounts = fc.array(
  fc.record({
    name: fc.constantFrom('data', 'aws-iam-token', 'vault-irsa', 'cache', 'cache'),
    mountPath: fc.constantFrom(
      '/data',
      '/var/run/secrets/eks.amazonaws.com/serviceaccount',
      '/var/run/vault-irsa',
      '/cache',
      '/cache',
    ),
  }),
  { maxLength: 3 },
);
const container = fc.record(
  {
    name: fc.oneof(
      { arbitrary: fc.constantFrom('app', 'web', 'worker', 'init'), weight: 9 },
      { arbitrary: fc.constant('vault-irsa'), weight: 1 },
    ),
    image: fc.constant('busybox'),
    env,
    volumeMounts: mounts,
    ports: fc.array(fc.record({ containerPort: fc.constantFrom(80, 8080, 8765, 8766, 9000) }), { maxLength: 2 }),
    futureField: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['name'] },
);
const pod = fc.record({
  apiVersion: fc.constant('v1'),
  kind: fc.constant('Pod'),
  metadata: fc.record({ generateName: fc.constant('p-'), annotations }, { requiredKeys: ['annotations'] }),
  spec: fc.record(
    {
      containers: fc.array(container, { minLength: 1, maxLength: 3 }),
      initContainers: fc.array(container, { maxLength: 2 }),
      volumes: fc.array(
        fc.record({
          name: fc.constantFrom('data', 'aws-iam-token', 'cache', 'vault-irsa-ca'),
          emptyDir: fc.constant({}),
        }),
        { maxLength: 2 },
      ),
      serviceAccountName: fc.constantFrom('default', 'irsa-app', 'bad-arn', 'missing'),
      hostUsers: fc.boolean(),
    },
    { requiredKeys: ['containers'] },
  ),
});

function wellFormed(result: Awaited<ReturnType<typeof review>>, uid?: string): void {
  if (result.httpStatus === 400) {
    expect(result.body).toMatchObject({ kind: 'Status', code: 400 });
    expect(typeof result.body.message).toBe('string');
    return;
  }
  expect(result.httpStatus).toBe(200);
  expect(result.body.apiVersion).toBe('admission.k8s.io/v1');
  expect(result.body.kind).toBe('AdmissionReview');
  const r = result.body.response as Record<string, unknown>;
  if (uid !== undefined) expect(r.uid).toBe(uid);
  expect(typeof r.allowed).toBe('boolean');
  if (r.patch !== undefined) {
    expect(r.patchType).toBe('JSONPatch');
    expect(Array.isArray(JSON.parse(Buffer.from(r.patch as string, 'base64').toString('utf8')))).toBe(true);
  }
  if (r.allowed === false) {
    expect((r.status as { code: number }).code).toBe(400);
    expect(typeof (r.status as { message: string }).message).toBe('string');
  }
}

test('arbitrary bodies never throw and get a well-formed answer', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.anything(),
        fc.jsonValue(),
        fc.record({
          apiVersion: fc.constant('admission.k8s.io/v1'),
          kind: fc.constant('AdmissionReview'),
          request: fc.anything(),
        }),
      ),
      async (body) => {
        wellFormed(await review(body, DEPS));
      },
    ),
    { numRuns: 300 },
  );
});

test('arbitrary objects as request.object never throw', async () => {
  await fc.assert(
    fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (object) => {
      const ar = admissionReview(object, { uid: 'u' });
      wellFormed(await review(ar, DEPS), 'u');
    }),
    { numRuns: 300 },
  );
});

test('arbitrary pods and annotations: well-formed, the patch applies, and injection is idempotent', async () => {
  let injectedCount = 0;
  await fc.assert(
    fc.asyncProperty(pod, async (p) => {
      const first = await review(admissionReview(p, { uid: 'one' }), DEPS);
      wellFormed(first, 'one');
      const r = responseOf(first);
      if (!r.allowed || r.ops.length === 0) return;
      const injected = applyOps(p, r.ops);
      injectedCount += 1;
      for (const c of [...(injected.spec.initContainers ?? []), ...injected.spec.containers]) {
        if (c.name === 'vault-irsa') continue;
        expect(c.volumeMounts?.some((m) => m.name === 'vault-irsa' && m.mountPath === '/var/run/vault-irsa')).toBe(
          true,
        );
      }
      expect((injected.metadata.annotations as Record<string, string>)['vault-irsa.io/status']).toBe('injected');
      const second = responseOf(await review(admissionReview(injected, { uid: 'two' }), DEPS));
      expect(second.allowed).toBe(true);
      expect(second.ops).toEqual([]);
    }),
    { numRuns: 300 },
  );
  // the generator must reach the injection path often enough to mean something
  expect(injectedCount).toBeGreaterThan(30);
});

test('generated pods: the patch applied to the original is the injected pod, whatever the mode and containers', () => {
  let checked = 0;
  fc.assert(
    fc.property(pod, (generated) => {
      // through JSON, as the API server sends it
      const p = JSON.parse(JSON.stringify(generated)) as Pod;
      const plan = planFromAnnotations(p.metadata?.annotations, TEST_CONFIG);
      if (plan.action !== 'inject') return;
      let identity;
      try {
        identity = resolveAwsIdentity(p, appContainers(p), plan.plan, {
          namespace: 'demo',
          serviceAccountName: 'default',
          serviceAccount: { status: 'not_found' },
        });
      } catch {
        return;
      }
      const injected = injectPod(p, plan.plan, identity);
      if (!injected.ok) return;
      checked += 1;
      const ops = podPatch(p, injected.pod);
      const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
      expect(asJson(applyOps(asJson(p), asJson(ops) as typeof ops))).toEqual(asJson(injected.pod));
    }),
    { numRuns: 500 },
  );
  expect(checked).toBeGreaterThan(50);
});
