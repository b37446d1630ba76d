/**
 * The ValidatingAdmissionPolicy shipped in manifests/install.yaml (the chart renders the same objects; see
 * chart-helm.test.ts), its CEL evaluated with @bufbuild/cel: every golden fixture's injected pod is allowed,
 * and each way of damaging an injected pod is denied with a message naming what is missing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse } from 'yaml';
import { evaluatePolicy, type PolicyResult } from '../../support/admission-policy.js';
import { admit, applyOps } from '../webhook/helpers.js';
import { at, findKind, loadDocs, type Obj } from './ship-helpers.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/inject/', import.meta.url));
const docs = loadDocs('manifests/install.yaml');
const policy = findKind(docs, 'ValidatingAdmissionPolicy', 'vault-irsa');
const binding = findKind(docs, 'ValidatingAdmissionPolicyBinding', 'vault-irsa');
const mwc = findKind(docs, 'MutatingWebhookConfiguration', 'vault-irsa');
const hook = (mwc.webhooks as Obj[])[0] as Obj;

const cases = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.pod.injected.yaml'))
  .map((f) => f.slice(0, -'.pod.injected.yaml'.length))
  .sort();
const injected = (name: string): Obj => parse(readFileSync(join(FIXTURES, `${name}.pod.injected.yaml`), 'utf8')) as Obj;
type Container = Obj & { name: string; volumeMounts?: Obj[] };
const spec = (pod: Obj): { initContainers?: Container[]; containers: Container[] } => pod.spec as never;

function check(pod: Obj, namespace = 'demo'): PolicyResult {
  return evaluatePolicy(policy, pod, namespace);
}
function denied(pod: Obj): string[] {
  const r = check(pod);
  if (!r.matched) throw new Error(`policy did not match: ${r.reason}`);
  expect(r.allowed).toBe(false);
  return r.messages;
}

describe('the ValidatingAdmissionPolicy in manifests/install.yaml', () => {
  test('is bound with Deny, and matches what the webhook matches: CREATE of pods, the same selectors', () => {
    expect(at(binding, 'spec.policyName')).toBe('vault-irsa');
    expect(at(binding, 'spec.validationActions')).toEqual(['Deny']);
    expect(at(binding, 'spec.matchResources')).toBeUndefined();
    expect(at(policy, 'spec.failurePolicy')).toBe('Fail');
    expect(at(policy, 'spec.matchConstraints.resourceRules')).toEqual([
      { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] },
    ]);
    expect(at(policy, 'spec.matchConstraints.namespaceSelector')).toEqual(hook.namespaceSelector);
    expect(at(policy, 'spec.matchConstraints.objectSelector')).toEqual(hook.objectSelector);
  });

  test.each(cases)("allows the webhook's output for fixture %s", (name) => {
    const r = check(injected(name));
    if (r.matched) expect(r.messages).toEqual([]);
  });

  test('the fixtures the policy does not apply to are exactly those the webhook does not inject', () => {
    const unmatched = cases.filter((n) => !check(injected(n)).matched);
    expect(unmatched.sort()).toEqual(['no-annotation', 'opt-out']);
  });

  test("allows, without evaluating, pods in excluded namespaces and the webhook's own pods", () => {
    const pod = injected('native');
    spec(pod).initContainers = [];
    for (const ns of ['kube-system', 'vault-irsa'])
      expect(check(pod, ns)).toEqual({ matched: false, reason: 'namespaceSelector' });
    const own = structuredClone(pod);
    (own.metadata as Obj).labels = { 'vault-irsa.io/webhook-pod': 'true' };
    expect(check(own)).toEqual({ matched: false, reason: 'objectSelector' });
    expect(check(pod).matched).toBe(true);
  });

  test('allows a pod without annotations or with inject: "false" even without a sidecar', () => {
    const bare = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'a', image: 'x' }] },
    };
    expect(check(bare)).toEqual({ matched: false, reason: 'matchCondition asks-for-secrets' });
    const out = {
      ...bare,
      metadata: { name: 'p', annotations: { 'vault-irsa.io/role': 'r', 'vault-irsa.io/inject': 'false' } },
    };
    expect(check(out)).toEqual({ matched: false, reason: 'matchCondition not-opted-out' });
  });

  describe('denies a damaged native pod', () => {
    test('restartPolicy stripped from the sidecar (kops#16802)', () => {
      const pod = injected('native');
      delete (spec(pod).initContainers as Container[])[0]?.restartPolicy;
      expect(denied(pod)).toEqual([expect.stringContaining('lost restartPolicy: Always')]);
    });
    test('sidecar removed', () => {
      const pod = injected('native');
      delete spec(pod).initContainers;
      expect(denied(pod)).toEqual([expect.stringContaining('no vault-irsa sidecar container')]);
    });
    test('sidecar moved after another init container', () => {
      const pod = injected('native');
      const inits = spec(pod).initContainers as Container[];
      inits.unshift({
        name: 'istio-init',
        image: 'istio/proxyv2',
        volumeMounts: [{ name: 'vault-irsa', mountPath: '/var/run/vault-irsa' }],
      });
      expect(denied(pod)).toEqual([expect.stringContaining('must come before every other init container')]);
    });
    test('startupProbe removed', () => {
      const pod = injected('native');
      delete (spec(pod).initContainers as Container[])[0]?.startupProbe;
      expect(denied(pod)).toEqual([expect.stringContaining('lost its startupProbe')]);
    });
    test('the mount missing in one app container, which the message names', () => {
      const pod = injected('multi-container');
      const victim = spec(pod).containers[1] as Container;
      victim.volumeMounts = (victim.volumeMounts ?? []).filter((m) => m.name !== 'vault-irsa');
      expect(denied(pod)).toEqual([
        `vault-irsa: container ${victim.name} does not mount the vault-irsa volume at /var/run/vault-irsa, so it cannot read the request token`,
      ]);
    });
    test('a container added by a later webhook without the mount', () => {
      const pod = injected('native');
      spec(pod).containers.push({ name: 'proxy', image: 'envoy' });
      expect(denied(pod)).toEqual([expect.stringContaining('container proxy does not mount')]);
    });
    test('a pod that asks for native but got a classic sidecar', () => {
      const pod = injected('classic');
      (at(pod, 'metadata.annotations') as Obj)['vault-irsa.io/sidecar-mode'] = 'native';
      expect(denied(pod)).toEqual([expect.stringContaining('sidecar-mode is native')]);
    });
    test('a pod that claims vault-irsa.io/status: injected but has no sidecar (the webhook skips it)', async () => {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'p',
          namespace: 'demo',
          annotations: { 'vault-irsa.io/role': 'r', 'vault-irsa.io/status': 'injected' },
        },
        spec: { containers: [{ name: 'a', image: 'x' }] },
      };
      const { response } = await admit(pod);
      expect([response.allowed, response.ops]).toEqual([true, []]);
      expect(denied(pod)).toEqual([
        expect.stringContaining('no vault-irsa sidecar container'),
        expect.stringContaining('container a does not mount'),
      ]);
    });
  });

  describe('denies a damaged classic pod', () => {
    test('without postStart', () => {
      const pod = injected('classic');
      delete spec(pod).containers[0]?.lifecycle;
      expect(denied(pod)).toEqual([expect.stringContaining('lost its postStart hook')]);
    });
    test('with a different postStart command', () => {
      const pod = injected('classic');
      (spec(pod).containers[0] as Obj).lifecycle = { postStart: { exec: { command: ['true'] } } };
      expect(denied(pod)).toEqual([expect.stringContaining('lost its postStart hook')]);
    });
    test('sidecar no longer the first container', () => {
      const pod = injected('classic');
      spec(pod).containers.reverse();
      expect(denied(pod)).toEqual([expect.stringContaining('must be the first container')]);
    });
    test('sidecar removed', () => {
      const pod = injected('classic');
      spec(pod).containers.shift();
      expect(denied(pod)).toEqual([expect.stringContaining('no vault-irsa sidecar container')]);
    });
    test('the mount missing in the app container', () => {
      const pod = injected('classic');
      delete spec(pod).containers[1]?.volumeMounts;
      expect(denied(pod)).toEqual([expect.stringContaining('container web does not mount')]);
    });
    test('a pod that asks for classic but got a native sidecar', () => {
      const pod = injected('native');
      (at(pod, 'metadata.annotations') as Obj)['vault-irsa.io/sidecar-mode'] = 'classic';
      expect(denied(pod)).toEqual([expect.stringContaining('sidecar-mode is classic')]);
    });
  });

  test('property: removing the mount from any one app container of any injected fixture is denied, naming it', () => {
    const injectedCases = cases.filter((n) => check(injected(n)).matched);
    fc.assert(
      fc.property(fc.constantFrom(...injectedCases), fc.nat(), (name, pick) => {
        const pod = injected(name);
        const apps = spec(pod).containers.filter((c) => c.name !== 'vault-irsa');
        const victim = apps[pick % apps.length] as Container;
        victim.volumeMounts = (victim.volumeMounts ?? []).filter((m) => m.name !== 'vault-irsa');
        const r = check(pod);
        return r.matched && !r.allowed && r.messages.some((m) => m.includes(`container ${victim.name} does not mount`));
      }),
      { numRuns: 50 },
    );
  });

  test("the webhook's output as it is now (not only as stored in the fixtures) is allowed", async () => {
    for (const name of cases) {
      const input = parse(readFileSync(join(FIXTURES, `${name}.pod.yaml`), 'utf8')) as Obj;
      const { response } = await admit(input);
      expect(response.allowed).toBe(true);
      const r = check(applyOps(input, response.ops));
      expect([name, r.matched ? r.messages : []]).toEqual([name, []]);
    }
  });
});
