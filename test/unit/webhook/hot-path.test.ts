/**
 * The per-review helpers made cheaper for issue 10 give what the plain versions gave: the depth check, the
 * patch's base64 (ASCII written as latin1, anything else as UTF-8), the trailing-slash trim, and the copy of a
 * container's AWS env for the sidecar.
 */
import fc from 'fast-check';
import { nestedDeeperThan } from '../../../webhook/limits.js';
import { encodePatch } from '../../../webhook/patch.js';
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

test('the webhook logs to stdout synchronously (no thread-pool write per review line)', async () => {
  const { createLogger } = await import('../../../webhook/main.js');
  const { symbols } = await import('pino');
  const stream = (createLogger('info') as unknown as Record<symbol, { sync?: boolean; fd?: number }>)[
    symbols.streamSym
  ];
  expect(stream?.sync).toBe(true);
  expect(stream?.fd).toBe(1);
});
