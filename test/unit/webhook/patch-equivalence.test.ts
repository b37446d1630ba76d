/**
 * webhook/patch.ts computes the patch faster than rfc6902's createPatch; it must compute the same patch: the
 * same operations in the same order, for every fixture pod and for arbitrary JSON pairs (arrays of keyed
 * objects edited by inserts, removals and changes, as injection edits containers, env and volumes).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { createPatch } from 'rfc6902';
import { parse } from 'yaml';
import { jsonEqual, podPatch } from '../../../webhook/patch.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/inject/', import.meta.url));

test('every inject fixture: the same operations as rfc6902 for pod → injected pod', () => {
  const names = readdirSync(FIXTURES).filter((f) => f.endsWith('.pod.yaml'));
  expect(names.length).toBeGreaterThan(5);
  for (const f of names) {
    const pod = parse(readFileSync(join(FIXTURES, f), 'utf8')) as unknown;
    const injected = parse(readFileSync(join(FIXTURES, f.replace(/\.pod\.yaml$/, '.pod.injected.yaml')), 'utf8')) as unknown;
    expect([f, podPatch(pod, injected)]).toEqual([f, createPatch(pod, injected)]);
    expect(podPatch(injected, injected)).toEqual([]);
  }
});

const leaf = fc.oneof(fc.constantFrom('a', 'b', '', 'x/y', '~0', 0, 1, -0, 1.5, true, false, null), fc.string({ maxLength: 3 }));
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

test('arrays that only grow at the end (what injection does to env, mounts, volumes): the same operations', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(item, leaf), { maxLength: 6 }), fc.array(fc.oneof(item, leaf), { maxLength: 4 }), fc.boolean(), (base, more, shared) => {
      const input = { list: base };
      const output = { list: [...(shared ? base : structuredClone(base)), ...more] };
      expect(podPatch(input, output)).toEqual(createPatch(input, output));
      expect(podPatch(output, input)).toEqual(createPatch(output, input));
    }),
    { numRuns: 3000 },
  );
});

test('arbitrary JSON and its edits: the same operations as rfc6902', () => {
  fc.assert(
    fc.property(fc.oneof(json, fc.array(item, { maxLength: 6 }), fc.record({ spec: fc.record({ containers: fc.array(item, { maxLength: 4 }) }) })), json, fc.integer(), (a, extra, seed) => {
      let s = seed >>> 0;
      const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
      const b = edit(a, rnd, extra);
      expect(podPatch(a, b)).toEqual(createPatch(a, b));
      expect(podPatch(b, a)).toEqual(createPatch(b, a));
      expect(jsonEqual(a, b)).toBe(createPatch(a, b).length === 0);
      expect(jsonEqual(b, a)).toBe(createPatch(b, a).length === 0);
      expect(jsonEqual(b, structuredClone(b))).toBe(true);
    }),
    { numRuns: 3000 },
  );
});
