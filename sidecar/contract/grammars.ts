/**
 * The value grammars both programs apply: the webhook to annotations and its own defaults, the sidecar to its
 * env. One definition each, so a value the webhook admits is one the sidecar starts with (the property in
 * test/unit/contract/round-trip.test.ts). Pure: each check returns a problem (a phrase to follow the value or
 * the name, e.g. "is not an AWS region") or null; each program wraps it in its own error.
 */
import { PARTITIONS, type Partition } from './partitions.generated.js';

export { PARTITIONS, type Partition };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * A Go/Vault-style duration (`30s`, `5m`, `1h30m`, `250ms`; a bare integer means seconds, as Vault takes it)
 * → milliseconds, or undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(s); m !== null; m = PART.exec(s)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    consumed = PART.lastIndex;
  }
  if (consumed !== s.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/** How often the sidecar re-reads its secrets: at least a second, at most a week. */
export const REFRESH_MIN_MS = 1000;
export const REFRESH_MAX_MS = 7 * 86_400_000;

export function checkRefresh(value: string): string | null {
  const ms = parseDuration(value);
  if (ms === undefined) return 'is not a duration (e.g. 30s, 5m, 1h)';
  if (ms < REFRESH_MIN_MS) return 'is too short (at least 1s)';
  if (ms > REFRESH_MAX_MS) return 'is too long (at most 168h)';
  return null;
}

/** The sidecar runs as non-root, so ports below 1024 could not be bound. */
export function checkPort(value: string): string | null {
  if (!/^[0-9]{1,5}$/.test(value)) return 'is not a port number (1024-65535)';
  const n = Number(value);
  if (n < 1024 || n > 65535) return 'is out of range (1024-65535; the sidecar runs as non-root)';
  return null;
}

/**
 * The partition a region belongs to, by the SDK's region regexes; undefined for anything else. A region is
 * also a label of the STS host name, hence the 63 characters.
 */
export function partitionOf(region: string): Partition | undefined {
  if (region.length > 63) return undefined;
  return PARTITIONS.find((p) => p.regionRegex.test(region));
}

export function checkRegion(value: string): string | null {
  return partitionOf(value) === undefined ? 'is not an AWS region (e.g. us-east-1)' : null;
}

const ARN_PARTITIONS = new Set(PARTITIONS.map((p) => p.id));
/**
 * An IAM role ARN as IAM issues it: arn:<partition>:iam::<12 digits>:role/<path/>name, where the role's path
 * ("/" or "/a/b/", at most 512 characters) and name (at most 64) use IAM's characters [\w+=,.@-].
 */
const ROLE_ARN = /^arn:([a-z-]+):iam::\d{12}:role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;
const IAM_PATH_MAX = 512;

export function isIamRoleArn(arn: string): boolean {
  const m = ROLE_ARN.exec(arn);
  // the ARN holds the path without its leading "/": "/" + "a/b/" is IAM's path
  return m !== null && ARN_PARTITIONS.has(m[1] ?? '') && 1 + (m[2] ?? '').length <= IAM_PATH_MAX;
}

export function checkRoleArn(value: string): string | null {
  return isIamRoleArn(value) ? null : 'is not an IAM role ARN (arn:aws:iam::<account-id>:role/<name>)';
}

/** RFC 1123 label: what Kubernetes calls a DNS label; a secret's name, also a safe URL path segment. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(value);
}

/**
 * Vault's own paths: auth methods, the system backend, identity, the per-token cubbyhole. None holds a secret
 * for an app (auth/token/lookup-self would even hand out the sidecar's own token), and a pod that could name
 * them would have its sidecar read whatever the pod's Vault policy allows there. Compared on the first segment
 * without case: a mount called `Sys/` is refused rather than trusted to be a different one.
 */
export const RESERVED_VAULT_PREFIXES = ['auth', 'sys', 'identity', 'cubbyhole'] as const;

/** The reserved mount (`sys/`) a path is under, or undefined. */
export function reservedMount(path: string): string | undefined {
  const first = path.replace(/^\/+/, '').split('/')[0]?.toLowerCase() ?? '';
  return (RESERVED_VAULT_PREFIXES as readonly string[]).includes(first) ? `${first}/` : undefined;
}

/**
 * A Vault path as a user writes it for `vault kv get` (`secret/my-app`), without the reserved-mount rule.
 * Rejected: empty, leading slash, empty or dot segments (`..` would walk out of the mount it names),
 * whitespace, control characters, and `?`/`#`/`%`/`\` (they would change the URL the sidecar builds).
 */
export function checkVaultPathSyntax(value: string): string | null {
  if (value.trim() === '') return 'is empty (expected a Vault path such as secret/my-app)';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (/[\s\u0000-\u001f\u007f?#%\\]/.test(value)) return 'contains whitespace, control characters or one of ? # % \\';
  if (value.startsWith('/')) return 'must not start with "/" (write it as for vault kv get, e.g. secret/my-app)';
  const segments = value.replace(/\/$/, '').split('/');
  if (segments.some((s) => s === '..' || s === '.')) return 'must not contain "." or ".." segments';
  if (segments.some((s) => s === '')) return 'contains an empty segment ("//")';
  if (value.length > 512) return 'is too long (at most 512 characters)';
  return null;
}

/** checkVaultPathSyntax and the reserved mounts. */
export function checkVaultPath(value: string): string | null {
  const syntax = checkVaultPathSyntax(value);
  if (syntax !== null) return syntax;
  const reserved = reservedMount(value);
  if (reserved !== undefined) {
    return `is under Vault's own ${reserved} (paths under ${RESERVED_VAULT_PREFIXES.map((p) => `${p}/`).join(', ')} are refused)`;
  }
  return null;
}

/** An auth mount path: `aws`, `aws-prod`, `team/aws`. */
export function checkAuthMount(value: string): string | null {
  if (value === '') return 'is empty';
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(value))
    return 'is not a mount path (letters, digits, _ . -, segments separated by /)';
  if (value.split('/').some((s) => s === '..' || s === '.')) return 'must not contain "." or ".." segments';
  return null;
}

/** Vault role names as Vault's AWS auth accepts them. */
export function checkVaultRole(value: string): string | null {
  if (value === '') return 'is empty (expected the Vault role name)';
  if (value.length > 128 || !/^\w([\w.@-]*\w)?$/.test(value))
    return 'is not a Vault role name (letters, digits, _ . @ -)';
  return null;
}

export function checkVaultNamespace(value: string): string | null {
  if (value === '') return 'is empty';
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/.test(value))
    return 'is not a Vault namespace path (e.g. admin/team-a)';
  if (value.split('/').some((s) => s === '..' || s === '.')) return 'must not contain "." or ".." segments';
  return null;
}

/** A header value signed into the login: printable ASCII only, so it survives HTTP unchanged. */
export function checkHeaderValue(value: string): string | null {
  if (value === '') return 'is empty';
  if (value.length > 256 || !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value))
    return 'is not a printable ASCII header value (no leading/trailing spaces, at most 256 characters)';
  return null;
}

export type VaultAddrResult = { addr: string } | { problem: 'not-a-url' | 'not-http' | 'has-extras' };

/**
 * A Vault address → its canonical form, scheme://host[:port][/path] without a trailing slash (what the
 * webhook's allow-list compares and the sidecar prefixes to /v1/...). No credentials, query or fragment.
 */
export function parseVaultAddr(value: string): VaultAddrResult {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: 'not-a-url' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: 'not-http' };
  if (url.username || url.password || url.search || url.hash) return { problem: 'has-extras' };
  return { addr: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}` };
}

/** parseVaultAddr's canonical form, or null. */
export function normalizeVaultAddr(value: string): string | null {
  const r = parseVaultAddr(value);
  return 'addr' in r ? r.addr : null;
}
