/**
 * The per-review helpers made cheaper for issue 10 give what the plain versions gave: the depth check, the
 * patch's base64 (ASCII written as latin1, anything else as UTF-8), the trailing-slash trim, the copy of a
 * container's AWS env for the sidecar, the spread without V8's slow case, the remembered plan, and the answer's
 * JSON with the patch spliced in.
 */
import fc from 'fast-check';
import { nestedDeeperThan } from '../../../webhook/limits.js';
import { encodePatch } from '../../../webhook/patch.js';
import { allowed, denied, patched, responseJson, type ReviewResult } from '../../../webhook/admission-response.js';
import { ANNOTATIONS } from '../../../sidecar/contract/names.js';
import { planFromAnnotations } from '../../../webhook/annotations.js';
import { copyWith } from '../../../webhook/inject/copy-with.js';
import { cachedPlan, MAX_KEY_CHARS, MAX_PLANS } from '../../../webhook/plan-cache.js';
import { TEST_CONFIG } from './helpers.js';
import { trimTrailingSlashes } from '../../../webhook/validate.js';
import { resolveAwsIdentity } from '../../../webhook/inject/aws-identity.js';
import type { Container, InjectionPlan, Pod } from '../../../webhook/plan.js';

/** The depth check as first written: an explicit stack, no recursion. */
function referenceDeeper(value: unknown, max: number): boolean {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: unknown; depth: number };
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push({ v: c, depth: depth + 1 });
  }
  return false;
}

test('nestedDeeperThan agrees with the stack-based reference on arbitrary JSON and limits', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (v, max) => {
      expect(nestedDeeperThan(v, max)).toBe(referenceDeeper(v, max));
    }),
    { numRuns: 500 },
  );
});

test('nestedDeeperThan stops at the limit: a body nested 100,000 deep is refused without a stack overflow', () => {
  let deep: unknown = {};
  for (let i = 0; i < 100_000; i++) deep = [deep];
  expect(nestedDeeperThan(deep, 100)).toBe(true);
  expect(nestedDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
  expect(nestedDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
});

test('encodePatch is base64 of the UTF-8 JSON, for ASCII and for any Unicode text', () => {
  const decode = (b64: string): unknown => JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), (a, b) => {
      const ops = [{ op: 'add' as const, path: '/metadata/annotations/x', value: { a, b } }];
      expect(decode(encodePatch(ops))).toEqual(JSON.parse(JSON.stringify(ops)));
      expect(encodePatch(ops)).toBe(Buffer.from(JSON.stringify(ops), 'utf8').toString('base64'));
    }),
    { numRuns: 300 },
  );
  // latin1-range characters are two bytes in UTF-8: written as latin1 they would decode wrong
  const ops = [{ op: 'add' as const, path: '/x', value: 'café – ü 😀' }];
  expect(decode(encodePatch(ops))).toEqual(ops);
  // past the reused buffer's first size, past its largest (a buffer of its own), then small again
  for (const size of [20_000, 70_000, 10, 40_000]) {
    for (const text of ['a'.repeat(size), 'é'.repeat(size)]) {
      const big = [{ op: 'add' as const, path: '/y', value: text }];
      expect(encodePatch(big)).toBe(Buffer.from(JSON.stringify(big), 'utf8').toString('base64'));
    }
  }
});

test('trimTrailingSlashes is the regex trim', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z/]{0,12}$/), (p) => {
      expect(trimTrailingSlashes(p)).toBe(p.replace(/\/+$/, ''));
    }),
  );
});

test("the sidecar's copy of a container's AWS env is the JSON copy, never the same objects", () => {
  // a literal value must be one the sidecar accepts (checkCopied); valueFrom is not checked
  const envEntry = (value: string) =>
    fc.oneof(
      fc.constant({ value }),
      fc.record({ valueFrom: fc.jsonValue({ maxDepth: 3 }) }),
      fc.record({ value: fc.constant(value), extra: fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)) }),
    );
  fc.assert(
    fc.property(envEntry('arn:aws:iam::111122223333:role/app'), envEntry('/var/run/aws/token'), (role, file) => {
      const env = [
        { ...role, name: 'AWS_ROLE_ARN' },
        { ...file, name: 'AWS_WEB_IDENTITY_TOKEN_FILE' },
        { name: 'AWS_REGION', value: 'eu-west-1' },
      ];
      const app: Container = { name: 'app', env };
      const pod: Pod = { spec: { containers: [app] } };
      const identity = resolveAwsIdentity(pod, [app], {} as InjectionPlan, {
        namespace: 'ns',
        serviceAccountName: 'sa',
        serviceAccount: { status: 'not_found' },
      });
      expect(identity.env).toEqual(JSON.parse(JSON.stringify(env)));
      for (const e of identity.env) expect(env).not.toContain(e);
    }),
    { numRuns: 300 },
  );
});

test('copyWith is the spread: same keys, values and order, for any object and extra keys', () => {
  const keyed = fc.dictionary(
    fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'env')),
    fc.jsonValue(),
  );
  fc.assert(
    fc.property(keyed, keyed, (srcText, extraText) => {
      // through JSON.parse, as a review's objects are made: "__proto__" is then an own key, not the prototype
      const src = JSON.parse(JSON.stringify(srcText)) as Record<string, unknown>;
      const extra = JSON.parse(JSON.stringify(extraText)) as Record<string, unknown>;
      const got = copyWith(src, extra);
      const spread = { ...src, ...extra };
      expect(Object.keys(got)).toEqual(Object.keys(spread));
      expect(JSON.stringify(got)).toBe(JSON.stringify(spread));
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    }),
    { numRuns: 500 },
  );
  const own = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
  const copy = copyWith(own, { b: 2 });
  expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
  expect(Object.keys(copy)).toEqual(['__proto__', 'a', 'b']);
});

test('cachedPlan answers as planFromAnnotations, for any annotations and ports', () => {
  const defaults = { ...TEST_CONFIG };
  const value = fc.oneof(
    fc.constantFrom('app', 'secret/db', '8770', 'native', 'true', '10m', '32Mi', 'arn:aws:iam::111122223333:role/x'),
    fc.string(),
    fc.integer(),
  );
  const key = fc.oneof(
    fc.constantFrom(...Object.values(ANNOTATIONS), 'vault-irsa.io/secret-db', 'vault-irsa.io/secret-Bad', 'app'),
    fc.string(),
  );
  const ports = fc.array(fc.record({ port: fc.constantFrom(8765, 8766, 8080), container: fc.string() }), {
    maxLength: 2,
  });
  fc.assert(
    fc.property(fc.dictionary(key, value), ports, (annotations, declared) => {
      // twice: the first answer is computed, the second comes from the cache
      expect(cachedPlan(annotations, defaults, declared)).toEqual(planFromAnnotations(annotations, defaults, declared));
      expect(cachedPlan(annotations, defaults, declared)).toEqual(planFromAnnotations(annotations, defaults, declared));
    }),
    { numRuns: 500 },
  );
});

test('a kept plan is shared and frozen; the cache is bounded in entries and key size', () => {
  const defaults = { ...TEST_CONFIG };
  const a = { 'vault-irsa.io/role': 'app', 'vault-irsa.io/secret-db': 'secret/db', other: 'ignored' };
  const first = cachedPlan(a, defaults, []);
  // annotations outside vault-irsa.io/ do not change the plan, so they share it
  expect(cachedPlan({ ...a, other: 'changed' }, defaults, [])).toBe(first);
  expect(cachedPlan(a, defaults, [{ port: 9000, container: 'app' }])).not.toBe(first);
  expect(cachedPlan(a, { ...TEST_CONFIG }, [])).not.toBe(first);
  if (first.action !== 'inject') throw new Error('expected a plan');
  expect(Object.isFrozen(first.plan.secrets)).toBe(true);
  expect(() => {
    (first.plan.secrets as Record<string, string>).db = 'secret/other';
  }).toThrow(TypeError);

  for (let i = 0; i <= MAX_PLANS; i++) cachedPlan({ 'vault-irsa.io/role': `r${i}` }, defaults, []);
  // the first of those was pushed out, so it is planned again (an equal answer, a new object)
  const r0 = { 'vault-irsa.io/role': 'r0' };
  const again = cachedPlan(r0, defaults, []);
  expect(again).toEqual(planFromAnnotations(r0, defaults, []));
  expect(cachedPlan(r0, defaults, [])).toBe(again);

  const long = { 'vault-irsa.io/role': 'app', 'vault-irsa.io/secret-db': `secret/${'x'.repeat(MAX_KEY_CHARS)}` };
  const once = cachedPlan(long, defaults, []);
  expect(cachedPlan(long, defaults, [])).not.toBe(once);
  expect(Object.isFrozen(once)).toBe(false);
});

describe('responseJson: the answer as JSON, the patch spliced in unscanned', () => {
  const anyOps = fc.array(fc.record({ op: fc.constant('add' as const), path: fc.string(), value: fc.jsonValue() }), {
    minLength: 1,
    maxLength: 5,
  });
  const ref = fc.record({ uid: fc.string(), operation: fc.option(fc.string(), { nil: undefined }) });
  const warnings = fc.array(fc.string(), { maxLength: 3 });

  test('an injection answer is the same JSON value as JSON.stringify gives, the patch member last', () => {
    fc.assert(
      fc.property(ref, anyOps, warnings, (r, ops, w) => {
        const result = patched(r, ops, w, {});
        const text = responseJson(result);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(result.body)));
        expect(text.endsWith(`"patch":"${result.base64Patch as string}"}}`)).toBe(true);
      }),
    );
  });

  test('every other answer is exactly JSON.stringify of the body', () => {
    fc.assert(
      fc.property(ref, fc.array(fc.string(), { minLength: 1, maxLength: 3 }), warnings, (r, problems, w) => {
        for (const result of [allowed(r, 'not opted in', {}, w), denied(r, problems), patched(r, [], w, {})])
          expect(responseJson(result)).toBe(JSON.stringify(result.body));
      }),
    );
  });

  test('a patch that is not the string encodePatch returned is serialised, never spliced', () => {
    const result: ReviewResult = patched({ uid: 'u' }, [{ op: 'add', path: '/a', value: 1 }], [], {});
    // the body changed after the fact (a quote would break the splice): the result must still be valid JSON
    (result.body.response as Record<string, unknown>).patch = 'a"b';
    expect(JSON.parse(responseJson(result))).toEqual(result.body);
    expect(responseJson(result)).toBe(JSON.stringify(result.body));
  });
});
