/**
 * Objects that many reviews put into their patch, kept with their JSON text so a patch serialises each of them
 * once, not once per review.
 *
 * JSON.stringify of an injection's patch (~3.4 KB, two thirds of it the sidecar container) was the largest part
 * of a review: 8 us in a loop, and ~26 us a review in the serving webhook (measured by serving a patch already
 * encoded: 171 → 145 us of CPU a review). The pods of one workload get the same sidecar container, and the same
 * env and mount entries in every app container, so the builders make those objects once per plan (and AWS
 * identity), and encodePatch (patch.ts) splices their text in.
 *
 * A reused object is frozen all the way down before its text is taken: the text cannot go stale, and code that
 * wrote to a reused part of an injected pod would throw rather than change the next pod's patch.
 */
const texts = new WeakMap<object, string>();

/** Frozen all the way down (own enumerable values); already frozen parts are taken as they are. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const c of Object.values(v)) deepFreeze(c);
  }
  return v;
}

/** `v`, frozen, with its JSON text kept for jsonOf (`text`: JSON.stringify(v) already made by the caller). */
export function reused<T extends object>(v: T, text?: string): T {
  deepFreeze(v);
  texts.set(v, text ?? JSON.stringify(v));
  return v;
}

/** JSON.stringify(v) for an object made by reused(), without serialising it again; undefined for anything else. */
export function jsonOf(v: unknown): string | undefined {
  return typeof v === 'object' && v !== null ? texts.get(v) : undefined;
}
