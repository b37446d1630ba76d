/**
 * Bounds on what one review reads and writes, so hostile input gets a clear 400 or a short deny instead of a
 * stack overflow (a 500) or a megabyte-long message. Pure.
 */

/**
 * Nesting an AdmissionReview may have. A real pod goes about 15 levels deep (managedFields mirror the spec's
 * structure, affinity terms nest 8); the webhook's recursive steps (value checks, diff, JSON copies) are safe
 * far beyond this, and far below the ~10,000 levels where V8's JSON.stringify overflows the stack.
 */
export const MAX_JSON_DEPTH = 100;

/** Total length of a deny message; the API server shows it to the pod's author in one line. */
export const MAX_MESSAGE_CHARS = 4096;
/** Total length of the warnings of one response (the API server truncates beyond about this much anyway). */
export const MAX_WARNING_CHARS = 4096;
/** Any one problem or warning; values inside are already quoted and cut at 200 characters. */
const MAX_ITEM_CHARS = 1024;

/**
 * True when `value` nests objects/arrays deeper than `max` levels. Recursive, but the recursion stops at `max`
 * levels whatever the input, so a hostile body costs at most `max` stack frames; it allocates nothing (this
 * runs over every review's whole body).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  return deeperThan(value, 0, max);
}

function deeperThan(v: unknown, depth: number, max: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (depth + 1 > max) return true;
  // indexed loop and for-in, not Object.values(): an array per object made this a tenth of a review's CPU
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const c: unknown = v[i];
      if (typeof c === 'object' && c !== null && deeperThan(c, depth + 1, max)) return true;
    }
    return false;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const c = o[k];
    if (typeof c === 'object' && c !== null && deeperThan(c, depth + 1, max)) return true;
  }
  return false;
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * As many items as fit in `budget` characters (counting `sep` between them), then more(N) for the N left out.
 * Never longer than budget: each item is kept only if the more() line for the rest still fits after it.
 */
export function capList(items: string[], budget: number, sep: string, more: (n: number) => string): string[] {
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < items.length; i++) {
    const item = cut(items[i] as string, MAX_ITEM_CHARS);
    const rest = items.length - i - 1;
    const join = out.length > 0 ? sep.length : 0;
    const reserve = rest > 0 ? sep.length + more(rest).length : 0;
    if (used + join + item.length + reserve > budget) {
      out.push(more(items.length - i));
      return out;
    }
    used += join + item.length;
    out.push(item);
  }
  return out;
}

/** A user-supplied value of any type as text for a log line or message, without ever throwing. */
export function safeText(value: unknown, max = 200): string {
  if (typeof value === 'string') return cut(value, max);
  try {
    return cut(JSON.stringify(value) ?? String(value), max);
  } catch {
    return '(unprintable)';
  }
}
