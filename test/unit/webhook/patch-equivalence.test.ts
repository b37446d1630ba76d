/**
 * webhook/patch.ts computes the patch in linear time, where rfc6902's createPatch is quadratic in array length.
 * For what injection does to a pod it must compute rfc6902's patch: the same operations in the same order, for
 * every fixture pod and for arrays edited the way injection edits them (appends, a block inserted at one place,
 * every element changed in place, a new first element before changed ones). For any other edit (reorders,
 * duplicates) it may choose another edit than rfc6902's Levenshtein table, but applying it must give the target.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { applyPatch, createPatch } from 'rfc6902';
import { parse } from 'yaml';
import { jsonEqual, podPatch } from '../../../webhook/patch.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/inject/', import.meta.url));

test('every inject fixture: the same operations as rfc6902 for pod → injected pod', () => {
  const names = readdirSync(FIXTURES).filter((f) => f.endsWith('.pod.yaml'));
  expect(names.length).toBeGreaterThan(5);
  for (const f of names) {
    const pod = parse(readFileSync(join(FIXTURES, f), 'utf8')) as unknown;
    const injected = parse(
      readFileSync(join(FIXTURES, f.replace(/\.pod\.yaml$/, '.pod.injected.yaml')), 'utf8'),
    ) as unknown;
    expect([f, podPatch(pod, injected)]).toEqual([f, createPatch(pod, injected)]);
    expect(podPatch(injected, injected)).toEqual([]);
  }
});

const leaf = fc.oneof(
  fc.constantFrom('a', 'b', '', 'x/y', '~0', 0, 1, -0, 1.5, true, false, null),
  fc.string({ maxLength: 3 }),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.constantFrom('name', 'value', 'env', 'image', 'a', 'b', 'c'), tie('value'), { maxKeys: 4 }),
})).value;
const item = fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd', 'e'), value: json }, { requiredKeys: ['name'] });

/** A copy of `v` with random edits: insert, remove, change, or set a key to undefined (absent, as in JSON). */
function edit(v: unknown, rnd: () => number, extra: unknown): unknown {
  if (Array.isArray(v)) {
    const out = v.map((e) => (rnd() < 0.3 ? edit(e, rnd, extra) : structuredClone(e)));
    if (rnd() < 0.3) out.splice(Math.floor(rnd() * (out.length + 1)), 0, structuredClone(extra));
    if (out.length > 0 && rnd() < 0.2) out.splice(Math.floor(rnd() * out.length), 1);
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) out[k] = rnd() < 0.3 ? edit(e, rnd, extra) : structuredClone(e);
    if (rnd() < 0.2) out[rnd() < 0.5 ? 'a' : 'env'] = structuredClone(extra);
    if (rnd() < 0.1) out.name = undefined;
    return out;
  }
  return rnd() < 0.5 ? v : extra;
}

/** Elements unequal to each other and to everything else generated: names are unique per role. */
const distinctItems = (prefix: string, maxLength: number, value: fc.Arbitrary<unknown> = json) =>
  fc
    .array(fc.record({ value, extra: fc.option(value, { nil: undefined }) }), { maxLength })
    .map((xs) => xs.map((x, i) => ({ name: `${prefix}${i}`, ...x })));
/** JSON without arrays: two different containers compared field by field hold no array the two diffs could align differently */
const flatJson = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('object')),
  object: fc.dictionary(fc.constantFrom('name', 'value', 'image', 'a', 'b'), tie('value'), { maxKeys: 3 }),
})).value;

test('arrays that only grow at the end (env, mounts, volumes): the same operations as rfc6902', () => {
  fc.assert(
    fc.property(distinctItems('base', 6), distinctItems('new', 4), fc.boolean(), (base, more, shared) => {
      const input = { list: base };
      const output = { list: [...(shared ? base : structuredClone(base)), ...more] };
      expect(podPatch(input, output)).toEqual(createPatch(input, output));
      expect(podPatch(output, input)).toEqual(createPatch(output, input));
    }),
    { numRuns: 2000 },
  );
});

test('a block inserted (or removed) at one place: the same operations as rfc6902', () => {
  fc.assert(
    fc.property(distinctItems('base', 6), distinctItems('new', 3), fc.nat(), (base, block, at) => {
      const i = at % (base.length + 1);
      const input = { list: base };
      const output = { list: [...base.slice(0, i), ...block, ...base.slice(i)] };
      expect(podPatch(input, output)).toEqual(createPatch(input, output));
      expect(podPatch(output, input)).toEqual(createPatch(output, input));
    }),
    { numRuns: 2000 },
  );
});

test('every element changed in place, maybe a new first element and appends (containers): the same operations as rfc6902', () => {
  fc.assert(
    fc.property(
      distinctItems('c', 5, flatJson),
      fc.boolean(),
      distinctItems('new', 2),
      json,
      (base, prepend, more, change) => {
        const changed = base.map((c, i) => ({ ...c, env: [{ name: 'VAULT_IRSA_ADDR', value: `x${i}` }], change }));
        const input = { spec: { containers: base } };
        const output = {
          spec: { containers: [...(prepend ? [{ name: 'vault-irsa', image: 'sidecar' }] : []), ...changed, ...more] },
        };
        expect(podPatch(input, output)).toEqual(createPatch(input, output));
        expect(podPatch(output, input)).toEqual(createPatch(output, input));
      },
    ),
    { numRuns: 2000 },
  );
});

/** The document the patch produces from `from` (a copy), or the first error. */
function applied(from: unknown, ops: ReturnType<typeof podPatch>): unknown {
  // through JSON text, as the API server gets it (and so every array is of this realm: jest runs tests in a vm
  // context, and rfc6902's clone does not recognise arrays from another realm, such as structuredClone's)
  const doc = { root: JSON.parse(JSON.stringify({ v: from })).v as unknown };
  const wire = JSON.parse(JSON.stringify(ops)) as ReturnType<typeof podPatch>;
  const errors = applyPatch(doc, wire.map((o) => ({ ...o, path: `/root${o.path}` })) as never).filter(
    (e) => e !== null,
  );
  if (errors.length > 0) throw new Error(`patch did not apply: ${errors.map(String).join('; ')}`);
  return doc.root;
}

test("arbitrary JSON and its edits: the patch turns one into the other; empty exactly when rfc6902's is", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        json,
        fc.array(item, { maxLength: 6 }),
        fc.record({ spec: fc.record({ containers: fc.array(item, { maxLength: 4 }) }) }),
      ),
      json,
      fc.integer(),
      (a, extra, seed) => {
        let s = seed >>> 0;
        const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
        const b = edit(a, rnd, extra);
        // compared as JSON: -0 and 0 are one number there, and rfc6902 does not tell them apart either
        const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify({ v })) as unknown;
        expect(asJson(applied(a, podPatch(a, b)))).toEqual(asJson(b));
        expect(asJson(applied(b, podPatch(b, a)))).toEqual(asJson(a));
        expect(jsonEqual(a, b)).toBe(createPatch(a, b).length === 0);
        expect(jsonEqual(b, a)).toBe(createPatch(b, a).length === 0);
        expect(podPatch(a, b).length === 0).toBe(createPatch(a, b).length === 0);
        expect(podPatch(b, b)).toEqual([]);
        expect(jsonEqual(b, structuredClone(b))).toBe(true);
      },
    ),
    { numRuns: 3000 },
  );
});
