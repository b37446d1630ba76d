/**
 * The patch is computed in linear time and memory: a pod with 10,000 containers (a 3 MB body holds that many)
 * gets a patch whose size grows with the container count, and applying it gives exactly the injected pod.
 * No timing assertion (shared machine); test/bench measures speed. Before the linear diff this test took
 * seconds and most of a gigabyte in classic mode.
 */
import { planFromAnnotations } from '../../../webhook/annotations.js';
import { resolveAwsIdentity } from '../../../webhook/inject/aws-identity.js';
import { appContainers, injectPod } from '../../../webhook/inject/index.js';
import { podPatch } from '../../../webhook/patch.js';
import type { Pod } from '../../../webhook/plan.js';
import { admit, applyOps, TEST_CONFIG } from './helpers.js';

const N = 10_000;

/** Containers alike except for their name, which comes last: an element comparison has to look at all of it. */
function bigPod(mode: 'native' | 'classic'): Pod {
  const containers = Array.from({ length: N }, (_, i) => ({
    image: 'busybox',
    args: ['sleep', '3600', '--flag=a-fairly-long-value'],
    ports: [{ containerPort: 9000 + (i % 10) }],
    name: `c${i}`,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'big',
      namespace: 'demo',
      annotations: {
        'vault-irsa.io/role': 'app',
        'vault-irsa.io/sidecar-mode': mode,
        'vault-irsa.io/aws-role-arn': 'arn:aws:iam::111122223333:role/app',
      },
    },
    spec: { containers, initContainers: [{ name: 'init', image: 'busybox' }] },
  };
}

test.each(['native', 'classic'] as const)(
  '%s: 10,000 containers: the patch has a few operations per container and applies to the injected pod',
  (mode) => {
    const pod = bigPod(mode);
    const plan = planFromAnnotations(pod.metadata?.annotations, TEST_CONFIG);
    if (plan.action !== 'inject') throw new Error('expected a plan');
    const identity = resolveAwsIdentity(pod, appContainers(pod), plan.plan, {
      namespace: 'demo',
      serviceAccountName: 'default',
      serviceAccount: { status: 'not_found' },
    });
    const injected = injectPod(pod, plan.plan, identity);
    if (!injected.ok) throw new Error(injected.problems.join('; '));

    const ops = podPatch(pod, injected.pod);
    // native: env and mounts added per container; classic: each container diffed against the one before it
    // (the sidecar took index 0), which is the same handful of operations each
    expect(ops.length).toBeGreaterThanOrEqual(N);
    expect(ops.length).toBeLessThanOrEqual(5 * N + 10);
    const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
    expect(asJson(applyOps(asJson(pod), asJson(ops) as typeof ops))).toEqual(asJson(injected.pod));
    expect(podPatch(injected.pod, injected.pod)).toEqual([]);
    expect(podPatch(asJson(injected.pod), asJson(injected.pod))).toEqual([]);
  },
);

test('the review itself refuses such a pod with a clear deny, and answers', async () => {
  const { response } = await admit(bigPod('native'));
  expect(response.allowed).toBe(false);
  expect(response.status?.message).toContain(`the pod has ${N + 1} containers and init containers`);
});
