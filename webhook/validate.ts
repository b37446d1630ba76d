/**
 * The webhook's value checks. The grammars shared with the sidecar (region, role ARN, Vault path, ...) are the
 * contract's (sidecar/contract/grammars.ts), re-exported here; what only the webhook checks stays below.
 */
import { parseDuration as parseContractDuration } from '../sidecar/contract/grammars.js';

export {
  checkAuthMount,
  checkHeaderValue,
  checkPort,
  checkRefresh,
  checkRegion,
  checkRoleArn,
  checkVaultNamespace,
  checkVaultPath,
  checkVaultRole,
  isDnsLabel,
  normalizeVaultAddr,
  RESERVED_VAULT_PREFIXES,
} from '../sidecar/contract/grammars.js';

/** Quote a user-supplied value for a message: JSON-escaped (no control characters reach logs) and capped. */
export function quote(value: unknown): string {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const capped = s.length > 200 ? `${s.slice(0, 200)}…` : s;
  return JSON.stringify(capped);
}

/** A path without its trailing slashes; the regex only runs for a path that has one (it runs per mount per review). */
export function trimTrailingSlashes(path: string): string {
  return path.endsWith('/') ? path.replace(/\/+$/, '') : path;
}

/**
 * The sidecar's own grammar (`30s`, `5m`, `1h30m`, `250ms`, a bare number of seconds), so an annotation the
 * webhook accepts is always a VAULT_IRSA_REFRESH the sidecar accepts. Milliseconds, or null.
 */
export function parseDuration(value: string): number | null {
  return parseContractDuration(value) ?? null;
}

const QUANTITY = /^([+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$/;
const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes resource quantity (`10m`, `64Mi`, `0.5`) → its numeric value, or null when malformed. */
export function parseQuantity(value: string): number | null {
  const m = QUANTITY.exec(value);
  if (!m || m[1] === undefined) return null;
  const base = Number(m[1]);
  const suffix = m[2] ?? '';
  const isExponent = /^[eE][+-]?[0-9]+$/.test(suffix);
  const factor = isExponent ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  if (factor === undefined || !Number.isFinite(base)) return null;
  return base * factor;
}
