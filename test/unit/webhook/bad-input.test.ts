/**
 * Bad input never makes the review throw (a 500 from the server) and never makes an answer unbounded: deep
 * nesting is a 400, wrong types anywhere get a 400 or a well-formed AdmissionReview, and a deny message or the
 * warnings stay within 4 KiB however many problems the pod has. The same class runs over the real HTTPS server
 * in test/integration/webhook/bad-input.test.ts.
 */
import fc from 'fast-check';
import { review } from '../../../webhook/admission.js';
import { SIDECAR_UID } from '../../../webhook/inject/names.js';
import { MAX_JSON_DEPTH, MAX_MESSAGE_CHARS, MAX_WARNING_CHARS } from '../../../webhook/limits.js';
import { baseReview, hostileBody } from './hostile.js';
import { admissionReview, DEPS, responseOf } from './helpers.js';

const deep = (n: number): string => `${'{"a":['.repeat(n)}1${']}'.repeat(n)}`;
const reviewText = (text: string) => review(JSON.parse(text) as unknown, DEPS);

test('the base review is injected (so every break below is a break of something that worked)', async () => {
  const r = await review(baseReview(), DEPS);
  expect(responseOf(r)).toMatchObject({ allowed: true });
  expect(r.outcome).toBe('injected');
});

test.each([
  ['an annotation value', (t: string) => t.replace('"secret/db"', deep(10_000))],
  [
    'an unknown field of the AdmissionReview',
    (t: string) => t.replace('{"apiVersion"', `{"extra":${deep(10_000)},"apiVersion"`),
  ],
  [
    'an unknown field of a container',
    (t: string) => t.replace('"image":"busybox"', `"image":"busybox","future":${deep(10_000)}`),
  ],
])('nesting 10,000 deep in %s: 400 naming the limit', async (_where, mutate) => {
  const r = await reviewText(mutate(JSON.stringify(baseReview())));
  expect(r.httpStatus).toBe(400);
  expect(String(r.body.message)).toBe(`AdmissionReview is nested deeper than ${MAX_JSON_DEPTH} levels`);
});

test('nesting just within the limit is answered normally', async () => {
  // the review's own structure takes a few levels (request.object.spec.containers[0]...)
  const r = await reviewText(
    JSON.stringify(baseReview()).replace(
      '"image":"busybox"',
      `"image":"busybox","future":${deep((MAX_JSON_DEPTH - 10) / 2)}`,
    ),
  );
  expect(r.httpStatus).toBe(200);
  expect(r.outcome).toBe('injected');
});

test('a pod with thousands of problems gets a deny of at most 4 KiB that counts the rest', async () => {
  const annotations: Record<string, string> = { 'vault-irsa.io/role': 'app' };
  for (let i = 0; i < 5000; i++) annotations[`vault-irsa.io/secret-s${i}`] = `sys/${'x'.repeat(300)}`;
  const pod = { metadata: { name: 'p', annotations }, spec: { containers: [{ name: 'app', image: 'x' }] } };
  const { status } = responseOf(await review(admissionReview(pod), DEPS));
  const message = status?.message ?? '';
  expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
  const shown = message.split('; ').filter((p) => p.includes('vault-irsa.io/secret-')).length;
  const more = /; and (\d+) more problems$/.exec(message);
  expect(more).not.toBeNull();
  expect(shown + Number(more?.[1])).toBe(5000);
  // each value is still quoted and cut at 200 characters
  expect(message).toContain(`"sys/${'x'.repeat(196)}…"`);
});

test('warnings stay within 4 KiB too, counting the rest', async () => {
  const containers = Array.from({ length: 400 }, (_, i) => ({
    name: `c${i}`,
    image: 'x',
    securityContext: { runAsUser: SIDECAR_UID },
  }));
  const pod = { metadata: { name: 'p', annotations: { 'vault-irsa.io/role': 'app' } }, spec: { containers } };
  const { warnings, allowed } = responseOf(await review(admissionReview(pod), DEPS));
  expect(allowed).toBe(true);
  expect(warnings.join('').length).toBeLessThanOrEqual(MAX_WARNING_CHARS);
  expect(warnings[warnings.length - 1]).toMatch(/^vault-irsa: and \d+ more warnings$/);
});

test('wrong types, prototype-named keys, odd unicode, huge arrays, deep nesting at every place of a review: never an internal error', async () => {
  await fc.assert(
    fc.asyncProperty(hostileBody, async ({ text }) => {
      const r = await reviewText(text);
      // 'error' is the safety net's outcome: reaching it means a bug the fuzzing found
      expect(r.outcome).not.toBe('error');
      if (r.httpStatus === 400) {
        expect(typeof r.body.message).toBe('string');
        return;
      }
      expect(r.httpStatus).toBe(200);
      const resp = r.body.response as { uid: unknown; allowed: unknown; status?: { message?: string } };
      expect(resp.uid).toBe((JSON.parse(text) as { request: { uid: unknown } }).request.uid);
      expect(typeof resp.allowed).toBe('boolean');
      if (resp.allowed === false) expect((resp.status?.message ?? '').length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
      // the patch may carry the pod's own values (an identity env entry copied to the sidecar), never more
      expect(JSON.stringify(r.body).length).toBeLessThan(2 * text.length + 65_536);
    }),
    { numRuns: 400 },
  );
});

test('an unexpected exception inside the review is a well-formed deny with outcome error, not a throw (a 500)', async () => {
  // a defaults object missing a list makes the vault-addr check throw: stands in for any bug
  const broken = { ...DEPS, defaults: { ...DEPS.defaults, allowedVaultAddrs: undefined as unknown as string[] } };
  const pod = {
    metadata: {
      name: 'p',
      annotations: { 'vault-irsa.io/role': 'app', 'vault-irsa.io/vault-addr': 'https://vault.example.com:8200' },
    },
    spec: { containers: [{ name: 'a', image: 'x' }] },
  };
  const r = await review(admissionReview(pod, { uid: 'u-err' }), broken);
  expect(r.httpStatus).toBe(200);
  expect(r.outcome).toBe('error');
  expect(r.body.response).toMatchObject({
    uid: 'u-err',
    allowed: false,
    status: { code: 500, message: expect.stringContaining('internal error') },
  });
  expect(r.log.reason).toMatch(/^internal error: /);
});
