/**
 * Pure value checks shared by the webhook's env config and the pod annotations, so a default and an
 * annotation are held to the same rules. Each returns a problem description (without the key) or null.
 */
import { parseDuration as parseSidecarDuration } from '../sidecar/duration.js';

/** Quote a user-supplied value for a message: JSON-escaped (no control characters reach logs) and capped. */
export function quote(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const capped = s.length > 200 ? `${s.slice(0, 200)}…` : s;
  return JSON.stringify(capped);
}

/** The sidecar runs as non-root, so ports below 1024 could not be bound. */
export function checkPort(value: string): string | null {
  if (!/^[0-9]{1,5}$/.test(value)) return 'is not a port number (1024-65535)';
  const n = Number(value);
  if (n < 1024 || n > 65535) return 'is out of range (1024-65535; the sidecar runs as non-root)';
  return null;
}

/**
 * The sidecar's own grammar (`30s`, `5m`, `1h30m`, `250ms`, a bare number of seconds), so an annotation the
 * webhook accepts is always a VAULT_IRSA_REFRESH the sidecar accepts. Milliseconds, or null.
 */
export function parseDuration(value: string): number | null {
  return parseSidecarDuration(value) ?? null;
}

export function checkRefresh(value: string): string | null {
  const ms = parseDuration(value);
  if (ms === null) return 'is not a duration (e.g. 30s, 5m, 1h)';
  if (ms < 1000) return 'is too short (at least 1s)';
  if (ms > 7 * 24 * 3_600_000) return 'is too long (at most 168h)';
  return null;
}

/** AWS region names: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1. */
export function checkRegion(value: string): string | null {
  return /^[a-z]{2}(-(gov|iso|isob|isoe|isof|eusc))?-[a-z]+-[0-9]{1,2}$/.test(value) ? null : 'is not an AWS region (e.g. us-east-1)';
}

/** arn:<partition>:iam::<12-digit account>:role[/<path>/]<name> */
export function checkRoleArn(value: string): string | null {
  const m = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):iam::([0-9]{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/.exec(value);
  if (!m || value.length > 2048) return 'is not an IAM role ARN (arn:aws:iam::<account-id>:role/<name>)';
  return null;
}

/** RFC 1123 label: what Kubernetes calls a DNS label; also a safe secret name in a URL path. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(value);
}

/**
 * A Vault path as a user writes it for `vault kv get`/`vault read` (`secret/my-app`). Rejected: empty,
 * leading slash, empty or dot segments (`..` would let a pod walk out of the mount it names), whitespace,
 * control characters, and `?`/`#` (they would change the URL the sidecar builds).
 */
export function checkVaultPath(value: string): string | null {
  if (value.trim() === '') return 'is empty (expected a Vault path such as secret/my-app)';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (/[\s\u0000-\u001f\u007f?#%\\]/.test(value)) return 'contains whitespace, control characters or one of ? # % \\';
  if (value.startsWith('/')) return 'must not start with "/" (write it as for vault kv get, e.g. secret/my-app)';
  const segments = value.replace(/\/$/, '').split('/');
  if (segments.some((s) => s === '..' || s === '.')) return 'must not contain "." or ".." segments';
  if (segments.some((s) => s === '')) return 'contains an empty segment ("//")';
  if (value.length > 512) return 'is too long (at most 512 characters)';
  const first = (segments[0] ?? '').toLowerCase();
  if (RESERVED_VAULT_PREFIXES.includes(first)) {
    return `is under Vault's own ${first}/ (paths under ${RESERVED_VAULT_PREFIXES.map((p) => `${p}/`).join(', ')} are refused)`;
  }
  return null;
}

/**
 * Vault's own paths: auth methods, the system backend, identity, the per-token cubbyhole. None holds a secret
 * for an app, and a pod that could name them would have its sidecar read (with the pod's Vault token)
 * whatever its policy allows there. Compared on the first segment, case-insensitively: the other spellings
 * the sidecar would read the same way (leading `/`, `//`, `./`, trailing `/`) are already refused above, and
 * a mount called `Sys/` is refused too rather than trusted to be a different one.
 */
export const RESERVED_VAULT_PREFIXES = ['auth', 'sys', 'identity', 'cubbyhole'];

/** An auth mount path: `aws`, `aws-prod`, `team/aws`. */
export function checkAuthMount(value: string): string | null {
  if (value === '') return 'is empty';
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(value)) return 'is not a mount path (letters, digits, _ . -, segments separated by /)';
  if (value.split('/').some((s) => s === '..' || s === '.')) return 'must not contain "." or ".." segments';
  return null;
}

/** Vault role names as Vault's AWS auth accepts them. */
export function checkVaultRole(value: string): string | null {
  if (value === '') return 'is empty (expected the Vault role name)';
  if (value.length > 128 || !/^\w([\w.@-]*\w)?$/.test(value)) return 'is not a Vault role name (letters, digits, _ . @ -)';
  return null;
}

export function checkVaultNamespace(value: string): string | null {
  if (value === '') return 'is empty';
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/.test(value)) return 'is not a Vault namespace path (e.g. admin/team-a)';
  if (value.split('/').some((s) => s === '..' || s === '.')) return 'must not contain "." or ".." segments';
  return null;
}

/** A header value signed into the login: printable ASCII only, so it survives HTTP unchanged. */
export function checkHeaderValue(value: string): string | null {
  if (value === '') return 'is empty';
  if (value.length > 256 || !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value)) return 'is not a printable ASCII header value (no leading/trailing spaces, at most 256 characters)';
  return null;
}

/** Canonical form of a Vault address for allow-list comparison: scheme://host[:port][/path] without trailing slash. */
export function normalizeVaultAddr(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password || url.search || url.hash) return null;
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

const QUANTITY = /^([+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$/;
const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
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
