/** Pods the sidecar cannot serve safely: hostNetwork, shared PIDs with the sidecar's UID, absurd container counts. */
import { loadWebhookConfig } from '../../../webhook/config.js';
import { SIDECAR_UID } from '../../../webhook/inject/names.js';
import { MAX_CONTAINERS } from '../../../webhook/pod-policy.js';
import { admit, DEPS, TEST_ENV } from './helpers.js';

const annotations = { 'vault-irsa.io/role': 'app', 'vault-irsa.io/aws-role-arn': 'arn:aws:iam::111122223333:role/app' };
const pod = (spec: Record<string, unknown>, containers: unknown[] = [{ name: 'app', image: 'busybox' }]) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'demo', annotations },
  spec: { containers, ...spec },
});
type Injected = {
  spec: { initContainers: Array<{ name: string; securityContext: { runAsUser: number; runAsGroup: number } }> };
};

test('hostNetwork: denied naming spec.hostNetwork; hostNetwork false is fine', async () => {
  const { response } = await admit(pod({ hostNetwork: true }));
  expect(response.allowed).toBe(false);
  expect(response.status?.message).toMatch(/spec\.hostNetwork is true: .*127\.0\.0\.1/);
  expect((await admit(pod({ hostNetwork: false }))).response.allowed).toBe(true);
});

test('hostPID: denied naming spec.hostPID; hostPID false is fine', async () => {
  const { response } = await admit(pod({ hostPID: true }));
  expect(response.allowed).toBe(false);
  expect(response.status?.message).toMatch(/spec\.hostPID is true: .*\/proc/);
  expect((await admit(pod({ hostPID: false }))).response.allowed).toBe(true);
});

test('a pod without the role annotation is never denied for hostNetwork (not ours to judge)', async () => {
  const p = pod({ hostNetwork: true });
  p.metadata.annotations = {} as typeof annotations;
  expect((await admit(p)).response).toMatchObject({ allowed: true, ops: [] });
});

test('shareProcessNamespace: injected with a warning saying what it exposes', async () => {
  const { response } = await admit(pod({ shareProcessNamespace: true }));
  expect(response.allowed).toBe(true);
  expect(response.warnings.join('\n')).toMatch(/shareProcessNamespace is true: .*\/proc/);
});

test('an app or init container running as the sidecar UID: denied with shared PIDs, a warning without', async () => {
  const same = { securityContext: { runAsUser: SIDECAR_UID } };
  for (const spec of [
    { securityContext: { runAsUser: SIDECAR_UID } },
    { initContainers: [{ name: 'init', image: 'busybox', ...same }] },
  ]) {
    const shared = await admit(pod({ ...spec, shareProcessNamespace: true }));
    expect(shared.response.allowed).toBe(false);
    expect(shared.response.status?.message).toMatch(
      new RegExp(`runs as UID ${SIDECAR_UID}, the sidecar's, and spec.shareProcessNamespace is true`),
    );
    const separate = await admit(pod(spec));
    expect(separate.response.allowed).toBe(true);
    expect(separate.response.warnings.join('\n')).toMatch(
      new RegExp(`runs as UID ${SIDECAR_UID}, the sidecar's: harmless`),
    );
  }
  // the container's own runAsUser wins over the pod's
  const overridden = await admit(
    pod({ shareProcessNamespace: true, securityContext: { runAsUser: SIDECAR_UID } }, [
      { name: 'app', image: 'x', securityContext: { runAsUser: 10001 } },
    ]),
  );
  expect(overridden.response.allowed).toBe(true);
});

test("VAULT_IRSA_WEBHOOK_SIDECAR_UID sets the sidecar's runAsUser/runAsGroup and the UID the checks compare with", async () => {
  const defaults = loadWebhookConfig({ ...TEST_ENV, VAULT_IRSA_WEBHOOK_SIDECAR_UID: '23456' });
  const deps = { ...DEPS, defaults };
  const { response } = await admit(pod({}), deps);
  const sidecar = (
    response.ops.find((o) => o.op === 'add' && o.path === '/spec/initContainers') as unknown as {
      value: Injected['spec']['initContainers'];
    }
  ).value[0];
  expect(sidecar?.securityContext).toMatchObject({ runAsUser: 23456, runAsGroup: 23456 });
  const denied = await admit(pod({ shareProcessNamespace: true, securityContext: { runAsUser: 23456 } }), deps);
  expect(denied.response.allowed).toBe(false);
  expect(
    (await admit(pod({ shareProcessNamespace: true, securityContext: { runAsUser: SIDECAR_UID } }), deps)).response
      .allowed,
  ).toBe(true);
});

test('VAULT_IRSA_WEBHOOK_SIDECAR_UID: not root, numeric, in range', () => {
  for (const bad of ['0', '-1', 'nobody', '2147483648', '1.5']) {
    expect(() => loadWebhookConfig({ ...TEST_ENV, VAULT_IRSA_WEBHOOK_SIDECAR_UID: bad })).toThrow(
      /VAULT_IRSA_WEBHOOK_SIDECAR_UID must be a numeric UID/,
    );
  }
  expect(loadWebhookConfig(TEST_ENV).sidecarUid).toBe(SIDECAR_UID);
});

test(`more than ${MAX_CONTAINERS} containers and init containers: denied with the count`, async () => {
  const many = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, image: 'busybox' }));
  const over = await admit(pod({ initContainers: many(1, 'i') }, many(MAX_CONTAINERS, 'c')));
  expect(over.response.allowed).toBe(false);
  expect(over.response.status?.message).toContain(
    `the pod has ${MAX_CONTAINERS + 1} containers and init containers; vault-irsa injects pods with at most ${MAX_CONTAINERS}`,
  );
  expect((await admit(pod({}, many(MAX_CONTAINERS, 'c')))).response.allowed).toBe(true);
});
