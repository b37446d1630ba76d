/** Retry timing, pure: the caller passes the random source so tests can pin it. */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** "Full jitter" (AWS architecture blog): uniform in [0, min(cap, base·2^attempt)). attempt starts at 0. */
export function fullJitter(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * Retry-After as delta-seconds or an HTTP date → milliseconds from `now`; undefined when absent or
 * unparseable. Negative dates clamp to 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Which Vault answers are worth retrying (docs/vault-and-aws.md, "The rest of Vault's API"): consistency, rate limit/standby, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 412 || status === 429 || status >= 500;
}

/** A periodic delay spread by ±fraction so a fleet of sidecars does not hit Vault in step. */
export function jittered(periodMs: number, fraction: number, random: () => number = Math.random): number {
  return Math.max(0, Math.round(periodMs * (1 - fraction + 2 * fraction * random())));
}
