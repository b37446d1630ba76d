/** RFC 6902 patch from the original pod JSON to the injected one (diff, not hand-written ops). */
import type { Operation } from 'rfc6902';
import { jsonOf } from './reused-json.js';

/**
 * A JSON patch from original to injected, computed in time and memory linear in the two documents. It is
 * rfc6902's diff (diff.js, 5.x: diffAny, diffObjects, diffArrays) with these changes:
 *  - arrays are diffed by position (see diffArrays), not with rfc6902's Levenshtein table, which is quadratic
 *    in the array's length; for what injection does to a pod (appends, an inserted sidecar, containers that
 *    each gain env and mounts) the operations are the ones rfc6902 computes, in the same order;
 *  - "are these equal?" is jsonEqual(), which stops at the first difference, instead of a full diff;
 *  - a key whose value is the same object on both sides is skipped (rfc6902 recurses into it and finds no
 *    operation): injectPod copies on write, so most of the injected pod is shared with the original;
 *  - paths are strings built as they go, not Pointer objects copied at every key.
 * test/unit/webhook/patch-equivalence.test.ts holds this to createPatch's output for the fixture pods, and to
 * "applying the patch gives the target" for arbitrary JSON.
 */
export function podPatch(original: unknown, injected: unknown): Operation[] {
  const ops: Operation[] = [];
  diffAny(original, injected, '', ops);
  return ops;
}

/**
 * The patch's bytes are written into one buffer kept between reviews and read back as base64: Buffer.from()
 * took a slice of node's 8 KiB pool each time (a new pool every second review, each one off-heap memory the
 * collector has to account for). Reviews run one at a time on the event loop, so one buffer serves them all; a
 * patch larger than SCRATCH_MAX_BYTES gets a buffer of its own, so nothing that size stays held.
 */
const SCRATCH_MAX_BYTES = 64 * 1024;
let scratch = Buffer.allocUnsafeSlow(16 * 1024);

export function encodePatch(ops: Operation[]): string {
  const json = patchJson(ops);
  const bytes = Buffer.byteLength(json, 'utf8');
  // ASCII (a byte per character, the usual patch) is the same bytes in latin1, which is written without
  // UTF-8 encoding; anything else is encoded as UTF-8
  const encoding = bytes === json.length ? 'latin1' : 'utf8';
  if (bytes > SCRATCH_MAX_BYTES) return Buffer.from(json, encoding).toString('base64');
  if (bytes > scratch.length) scratch = Buffer.allocUnsafeSlow(SCRATCH_MAX_BYTES);
  const n = scratch.write(json, 0, bytes, encoding);
  return scratch.toString('base64', 0, n);
}

/**
 * JSON.stringify(ops), with the text of shared values (reused-json.ts: the sidecar container, the env and mount
 * entries of the app wiring, the token volume) spliced in instead of serialised again. An operation is written
 * with its keys in the order podPatch creates them (op, path, value); one whose value is neither a string nor
 * shared, nor holds something shared, is serialised whole.
 */
export function patchJson(ops: Operation[]): string {
  const parts = new Array<string>(ops.length);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Operation & { value?: unknown };
    let value: string | undefined;
    if (op.op === 'add' || op.op === 'replace')
      value = typeof op.value === 'string' ? jsonString(op.value) : sharedValueJson(op.value);
    parts[i] =
      value === undefined ? JSON.stringify(op) : `{"op":"${op.op}","path":${jsonString(op.path)},"value":${value}}`;
  }
  return `[${parts.join(',')}]`;
}

/** Printable ASCII without `"` and `\\`: characters JSON.stringify writes as they are. */
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON.stringify(s), without the serialiser's call for the usual path or label value (nothing to escape). */
function jsonString(s: string): string {
  return PLAIN_JSON_TEXT.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** A shared value's text; for an array holding shared elements (the sidecar first among init containers), the array's. */
function sharedValueJson(v: unknown): string | undefined {
  const own = jsonOf(v);
  if (own !== undefined || !Array.isArray(v) || !v.some((e) => jsonOf(e) !== undefined)) return own;
  // JSON.stringify writes an element it cannot represent (undefined, a function) as null
  return `[${v.map((e) => jsonOf(e) ?? JSON.stringify(e) ?? 'null').join(',')}]`;
}

/** rfc6902's Pointer token escaping: `~` → `~0`, `/` → `~1`. */
function escapeToken(token: string): string {
  return token.indexOf('~') === -1 && token.indexOf('/') === -1
    ? token
    : token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** rfc6902's objectType: undefined, null, array, or typeof. */
function objectType(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Object.prototype.hasOwnProperty, called directly: V8 (Node 20) answers it from the for-in loop's enum cache
 * when the key comes from iterating the same object, which it does not do for Object.hasOwn (7x slower here).
 */
// eslint-disable-next-line @typescript-eslint/unbound-method -- always called with .call(o, key)
const ownKey = Object.prototype.hasOwnProperty;

/** A key counts only when it is an own property whose value is not undefined (JSON drops undefined). */
function has(o: Record<string, unknown>, key: string): boolean {
  return o[key] !== undefined && ownKey.call(o, key);
}

/**
 * True exactly when rfc6902's diffAny(a, b) yields no operation: the same value (===); two arrays of the same
 * length, equal element by element (any other pair of arrays costs at least one add, remove or replace); or two
 * objects with the same keys, counting only keys whose value is not undefined, and equal values.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ta = objectType(a);
  if (ta !== objectType(b)) return false;
  if (ta === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!jsonEqual(x[i], y[i])) return false;
    return true;
  }
  if (ta !== 'object') return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (!has(x, k)) continue;
    defined++;
    if (!has(y, k) || !jsonEqual(x[k], y[k])) return false;
  }
  for (const k in y) if (has(y, k)) defined--;
  return defined === 0;
}

/** rfc6902's diffAny. */
function diffAny(input: unknown, output: unknown, path: string, ops: Operation[]): void {
  if (input === output) return;
  const ti = objectType(input);
  const to = objectType(output);
  if (ti === 'array' && to === 'array') diffArrays(input as unknown[], output as unknown[], path, ops);
  else if (ti === 'object' && to === 'object')
    diffObjects(input as Record<string, unknown>, output as Record<string, unknown>, path, ops);
  else ops.push({ op: 'replace', path, value: output });
}

/** An own key whose value is not undefined, given the value already read (the usual case skips the own check). */
function defined(o: Record<string, unknown>, key: string, v: unknown): boolean {
  return v !== undefined && ownKey.call(o, key);
}

/**
 * rfc6902's diffObjects: removals (input's key order), additions (output's), then shared keys (input's). Each
 * key is read once per side: a keyed read of another object's key is a slow lookup, and three passes of them
 * each way were most of the diff's time. The additions pass runs only when output has a key input lacks.
 */
function diffObjects(
  input: Record<string, unknown>,
  output: Record<string, unknown>,
  path: string,
  ops: Operation[],
): void {
  let shared = 0;
  let changed: string[] | undefined;
  for (const key in input) {
    const a = input[key];
    if (!defined(input, key, a)) continue;
    const b = output[key];
    if (!defined(output, key, b)) ops.push({ op: 'remove', path: `${path}/${escapeToken(key)}` });
    else {
      shared++;
      if (a !== b) (changed ??= []).push(key);
    }
  }
  let outputKeys = 0;
  for (const key in output) if (defined(output, key, output[key])) outputKeys++;
  if (outputKeys > shared) {
    for (const key in output) {
      const b = output[key];
      if (defined(output, key, b) && !has(input, key))
        ops.push({ op: 'add', path: `${path}/${escapeToken(key)}`, value: b });
    }
  }
  if (changed === undefined) return;
  for (const key of changed) diffAny(input[key], output[key], `${path}/${escapeToken(key)}`, ops);
}

/**
 * True when output is input followed by more elements, none of them equal to input's last: then the table's
 * cheapest path is n equal steps and m - n adds. At (n, n + k) with output[n + k - 1] not equal to input[n - 1],
 * add costs (n, n + k - 1) + 1 = k, while remove costs at least (k + 1) + 1 and replace at least k + 1, so
 * add wins outright; (n, n) costs 0 through the equal diagonal. Each add is at input index n - 1, so at
 * padded index n + padding, which is not below n + padding: rfc6902 writes it as `-` (append).
 */
function appendsOnly(input: unknown[], output: unknown[], n: number, m: number): boolean {
  if (m <= n) return false;
  for (let i = 0; i < n; i++) if (!jsonEqual(input[i], output[i])) return false;
  if (n > 0) for (let j = n; j < m; j++) if (jsonEqual(input[n - 1], output[j])) return false;
  return true;
}

/**
 * The array diff, in time and memory linear in the two arrays (rfc6902's Levenshtein table is n × m cells, each
 * comparing two elements: a pod with 10,000 containers took seconds and most of a gigabyte). Injection never
 * reorders anything, so elements are matched by position, in three shapes:
 *  - appends only (env, mounts, volumes): adds at `-`, as rfc6902;
 *  - one block inserted or removed between an equal prefix and an equal suffix: adds (or removes) at the
 *    block's index, as rfc6902's table finds them;
 *  - anything else: element i against element i, then adds at `-` or removes at the end. When no two elements
 *    at the same index are equal (injection changes every container it wires) that is also exactly the path
 *    rfc6902's table takes: replaces along the diagonal, then adds (or removes) past the shorter length.
 * Elsewhere the patch can differ from rfc6902's (a shorter or longer edit of a reordered array), never in
 * what it produces: test/unit/webhook/patch-equivalence.test.ts holds both.
 */
function diffArrays(input: unknown[], output: unknown[], path: string, ops: Operation[]): void {
  const n = input.length;
  const m = output.length;
  if (appendsOnly(input, output, n, m)) {
    for (let j = n; j < m; j++) ops.push({ op: 'add', path: `${path}/-`, value: output[j] });
    return;
  }
  const shorter = Math.min(n, m);
  // the suffix first: rfc6902's table is read back from the end and takes every equal pair it meets there
  let suffix = 0;
  while (suffix < shorter && jsonEqual(input[n - 1 - suffix], output[m - 1 - suffix])) suffix++;
  let prefix = 0;
  while (prefix < shorter - suffix && jsonEqual(input[prefix], output[prefix])) prefix++;

  if (prefix + suffix === n && m > n) {
    // output[prefix, m - suffix) inserted before input[prefix]
    // rfc6902 writes an add at the current end as `-`; with an equal suffix there is none
    for (let j = prefix; j < m - suffix; j++)
      ops.push({ op: 'add', path: `${path}/${prefix < n ? String(j) : '-'}`, value: output[j] });
    return;
  }
  if (prefix + suffix === m && n > m) {
    // input[prefix, n - suffix) removed; each removal moves the next one to the same index
    for (let i = prefix; i < n - suffix; i++) ops.push({ op: 'remove', path: `${path}/${prefix}` });
    return;
  }
  // the equal prefix needs no operation, nor (arrays of one length) the equal suffix; the rest is pairwise
  const end = n === m ? n - suffix : shorter;
  for (let i = prefix; i < end; i++) diffAny(input[i], output[i], `${path}/${i}`, ops);
  for (let j = n; j < m; j++) ops.push({ op: 'add', path: `${path}/-`, value: output[j] });
  for (let i = m; i < n; i++) ops.push({ op: 'remove', path: `${path}/${m}` });
}
