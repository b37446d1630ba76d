/**
 * Objects shared between reviews, with their JSON kept (webhook/reused-json.ts): the patch is the same JSON
 * text as JSON.stringify gives, the kept text is what is written (the object is not serialised again), a
 * shared object cannot be changed, and pods that share a plan but not an AWS identity never share a sidecar.
 */
import fc from 'fast-check';
import type { Operation } from 'rfc6902';
import { ANNOTATIONS } from '../../../sidecar/contract/names.js';
import { planFromAnnotations } from '../../../webhook/annotations.js';
import { injectPod } from '../../../webhook/inject/index.js';
import {
  buildSidecarContainer,
  MAX_PER_PLAN,
  MAX_SHARED_CHARS,
  sidecarContainer,
} from '../../../webhook/inject/sidecar-container.js';
import { encodePatch, patchJson } from '../../../webhook/patch.js';
import type { AwsIdentity, Container, InjectionPlan, Pod } from '../../../webhook/plan.js';
import { jsonOf, reused } from '../../../webhook/reused-json.js';
import { admit, TEST_CONFIG } from './helpers.js';

function planOf(annotations: Record<string, string>): InjectionPlan {
  const r = planFromAnnotations({ [ANNOTATIONS.role]: 'app', ...annotations }, TEST_CONFIG, []);
  if (r.action !== 'inject') throw new Error(`no plan: ${JSON.stringify(r)}`);
  return r.plan;
}

function irsa(role: string, extra: Array<{ name: string; value: string }> = []): AwsIdentity {
  return {
    source: 'copied-irsa',
    env: [
      { name: 'AWS_ROLE_ARN', value: `arn:aws:iam::111122223333:role/${role}` },
      { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
      ...extra,
    ],
    mounts: [{ name: 'aws-iam-token', mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount', readOnly: true }],
    volumes: [],
    warnings: [],
  };
}

describe('patchJson: JSON.stringify of the operations, shared values spliced in', () => {
  // any UTF-16 text, lone surrogates and control characters included, not only printable ASCII
  const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string());
  const json = (maxDepth: number) => fc.jsonValue({ maxDepth, stringUnit: 'binary' });
  const sharedValue = json(3).map((v) => reused({ v }));
  const value = fc.oneof(
    text,
    json(3),
    sharedValue,
    // an array holding shared elements among others, as the sidecar first among a pod's init containers
    fc.array(fc.oneof(sharedValue, json(2)), { maxLength: 4 }),
  );
  const op = fc.oneof(
    fc.record({ op: fc.constantFrom('add' as const, 'replace' as const), path: text, value }),
    fc.record({ op: fc.constant('remove' as const), path: text }),
  );

  test('the same text as JSON.stringify, for any operations (paths with any characters, any JSON values)', () => {
    fc.assert(
      fc.property(fc.array(op as fc.Arbitrary<Operation>, { maxLength: 8 }), (ops) => {
        expect(patchJson(ops)).toBe(JSON.stringify(ops));
        expect(encodePatch(ops)).toBe(Buffer.from(JSON.stringify(ops), 'utf8').toString('base64'));
      }),
      { numRuns: 500 },
    );
  });

  test('a shared value is written from its kept text, not serialised again', () => {
    let reads = 0;
    const value = reused({
      get secret() {
        reads++;
        return 'x';
      },
    });
    const readsWhenShared = reads;
    const ops: Operation[] = [
      { op: 'add', path: '/a', value },
      { op: 'add', path: '/b', value: [value, { plain: true }] },
    ];
    expect(JSON.parse(patchJson(ops))).toEqual([
      { op: 'add', path: '/a', value: { secret: 'x' } },
      { op: 'add', path: '/b', value: [{ secret: 'x' }, { plain: true }] },
    ]);
    expect(reads).toBe(readsWhenShared);
  });

  test('a shared object is frozen all the way down, and only shared objects have a kept text', () => {
    const v = reused({ a: { b: [{ c: 1 }] } });
    expect(Object.isFrozen(v.a.b[0])).toBe(true);
    expect(() => {
      (v.a.b[0] as { c: number }).c = 2;
    }).toThrow(TypeError);
    expect(jsonOf(v)).toBe('{"a":{"b":[{"c":1}]}}');
    expect(jsonOf({ a: 1 })).toBeUndefined();
    expect(jsonOf('text')).toBeUndefined();
  });
});

describe('sidecarContainer: one shared container per plan and AWS identity', () => {
  test('the same plan and a JSON-equal identity get the same frozen container, equal to a fresh build', () => {
    const plan = planOf({});
    const first = sidecarContainer(plan, irsa('app'));
    const again = sidecarContainer(plan, irsa('app'));
    expect(again).toBe(first);
    expect(Object.isFrozen(first.env)).toBe(true);
    expect(first).toEqual(buildSidecarContainer(plan, irsa('app')));
    expect(jsonOf(first)).toBe(JSON.stringify(first));
  });

  test('another identity, or another plan, gets its own container', () => {
    const plan = planOf({});
    const a = sidecarContainer(plan, irsa('a'));
    const b = sidecarContainer(plan, irsa('b'));
    const extra = sidecarContainer(plan, irsa('a', [{ name: 'AWS_REGION', value: 'eu-west-1' }]));
    expect(new Set([a, b, extra]).size).toBe(3);
    expect(b).toEqual(buildSidecarContainer(plan, irsa('b')));
    expect(sidecarContainer(planOf({ [ANNOTATIONS.refresh]: '5m' }), irsa('a'))).not.toBe(a);
  });

  test('an identity with its fields in another order gets its own text, byte for byte what a fresh build gives', () => {
    const plan = planOf({});
    const first = irsa('order');
    const swapped = irsa('order');
    swapped.env = swapped.env.map((e) => ({ value: e.value, name: e.name }));
    sidecarContainer(plan, first);
    expect(JSON.stringify(sidecarContainer(plan, swapped))).toBe(JSON.stringify(buildSidecarContainer(plan, swapped)));
  });

  test('only plain identities are kept: a valueFrom, a non-string mount field or non-ASCII text is built every time', () => {
    const plan = planOf({});
    const withValueFrom = irsa('vf');
    withValueFrom.env.push({ name: 'AWS_REGION', valueFrom: { fieldRef: { fieldPath: Array(50).fill({}) } } });
    const withObjectSubPath = irsa('sp');
    withObjectSubPath.mounts = [{ name: 'aws-iam-token', mountPath: '/t', subPath: { a: [] } } as never];
    const nonAscii = irsa('été');
    for (const identity of [withValueFrom, withObjectSubPath, nonAscii]) {
      const one = sidecarContainer(plan, identity);
      expect(sidecarContainer(plan, identity)).not.toBe(one);
      expect(Object.isFrozen(one)).toBe(false);
      expect(jsonOf(one)).toBeUndefined();
      expect(one).toEqual(buildSidecarContainer(plan, identity));
    }
  });

  test(`at most ${MAX_PER_PLAN} identities a plan are kept, the oldest going first`, () => {
    const plan = planOf({});
    const kept = Array.from({ length: MAX_PER_PLAN + 1 }, (_, i) => sidecarContainer(plan, irsa(`r${i}`)));
    expect(sidecarContainer(plan, irsa(`r${MAX_PER_PLAN}`))).toBe(kept[MAX_PER_PLAN]);
    expect(sidecarContainer(plan, irsa(`r${MAX_PER_PLAN - 1}`))).toBe(kept[MAX_PER_PLAN - 1]);
    const rebuilt = sidecarContainer(plan, irsa('r0'));
    expect(rebuilt).not.toBe(kept[0]);
    expect(rebuilt).toEqual(kept[0]);
  });

  test(`a container whose JSON is over ${MAX_SHARED_CHARS} characters is built every time and not frozen`, () => {
    const plan = planOf({});
    const big = irsa('big', [{ name: 'AWS_REGION', value: 'x'.repeat(MAX_SHARED_CHARS) }]);
    const one: Container = sidecarContainer(plan, big);
    expect(sidecarContainer(plan, big)).not.toBe(one);
    expect(Object.isFrozen(one)).toBe(false);
    expect(jsonOf(one)).toBeUndefined();
  });
});

test('pods with the same annotations and different IRSA roles each get a sidecar with their own role', async () => {
  const pod = (role: string): Pod => ({
    metadata: { name: `p-${role}`, namespace: 'demo', annotations: { [ANNOTATIONS.role]: 'app' } },
    spec: {
      containers: [
        {
          name: 'app',
          env: [
            { name: 'AWS_ROLE_ARN', value: `arn:aws:iam::111122223333:role/${role}` },
            { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
          ],
          volumeMounts: [{ name: 'aws-iam-token', mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount' }],
        },
      ],
    },
  });
  const roleOf = (ops: Operation[]): unknown => {
    const add = ops.find((o) => o.path === '/spec/initContainers') as { value: Container[] } | undefined;
    return add?.value[0]?.env?.find((e) => e.name === 'AWS_ROLE_ARN')?.value;
  };
  for (const role of ['one', 'two', 'one', 'three', 'two']) {
    const { response } = await admit(pod(role));
    expect(roleOf(response.ops)).toBe(`arn:aws:iam::111122223333:role/${role}`);
  }
});

test("an injected pod's shared parts are frozen: code that wrote to one would throw, not change the next pod", () => {
  const plan = planOf({});
  const pod: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'app' }] } };
  const injected = injectPod(pod, plan, irsa('app'));
  if (!injected.ok) throw new Error('not injected');
  const sidecar = injected.pod.spec.initContainers?.[0] as Container;
  const appEnv = injected.pod.spec.containers[0]?.env?.[0] as { value?: string };
  expect(() => sidecar.env?.push({ name: 'X', value: 'y' })).toThrow(TypeError);
  expect(() => {
    appEnv.value = 'http://elsewhere';
  }).toThrow(TypeError);
  expect(Object.isFrozen(injected.pod.spec.volumes?.find((v) => v.name === 'vault-irsa'))).toBe(true);
});
