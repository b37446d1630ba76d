import { isRetryableStatus } from './backoff.js';
import { SecretPathError, SecretRefusedError } from './errors.js';
import type { SecretFailure } from './secret-store.js';
import { VaultBadResponseError, VaultError, VaultRedirectError } from './vault-client.js';

/**
 * Why a declared secret could not be read → what the API says about it and how the refresher retries. Pure.
 *
 * Transient (503 `vault_unavailable`, retried with backoff, the last value served as stale): no answer,
 * 412/429/5xx, a redirect that is not followed (a standby may become active). Answers about the secret
 * (403, 404) are retried with backoff too: a policy or a secret can be added any time. Permanent ones say
 * what is wrong with the declaration or with what Vault answers for it: the same request gets the same
 * answer, so they are retried at the refresh period only, or never when the declaration alone decides.
 */
export function classifyFailure(e: unknown): SecretFailure {
  if (e instanceof SecretPathError)
    return { code: 'invalid_secret_path', status: 400, message: e.message, permanent: true };
  if (e instanceof SecretRefusedError)
    return { code: 'secret_refused', status: 403, message: e.message, permanent: true };
  if (e instanceof VaultBadResponseError)
    return { code: 'vault_bad_response', status: 502, message: e.message, permanent: true };
  if (e instanceof VaultRedirectError) return { code: 'vault_unavailable', status: 503, message: e.message };
  if (e instanceof VaultError) {
    const said = e.errors.length ? e.errors.join('; ') : '';
    if (e.status === 403) return { code: 'vault_permission_denied', status: 403, message: said || 'permission denied' };
    if (e.status === 404)
      return {
        code: 'secret_not_found',
        status: 404,
        message: deletedVersion(e.body) ?? (said || 'Vault has no secret at this path'),
      };
    // 400 (a role the engine does not know, a malformed request), 405 (not a readable path), …: Vault
    // refuses this request as such, and will again
    if (e.status >= 400 && e.status < 500 && !isRetryableStatus(e.status)) {
      return {
        code: 'vault_bad_request',
        status: 400,
        message: `Vault refused the read (${e.status})${said ? `: ${said}` : ''}`,
        permanent: true,
      };
    }
    return { code: 'vault_unavailable', status: 503, message: `Vault answered ${e.status}${said ? `: ${said}` : ''}` };
  }
  return { code: 'vault_unavailable', status: 503, message: (e as Error)?.message ?? 'Vault unavailable' };
}

/**
 * KV v2 answers a deleted or destroyed latest version with 404 and the version's metadata: say which version
 * and what happened to it. Undefined for any other 404. Pure.
 */
function deletedVersion(body: unknown): string | undefined {
  const d = (body as { data?: { data?: unknown; metadata?: unknown } | null } | null)?.data;
  const meta = d?.metadata as { version?: unknown; deletion_time?: unknown; destroyed?: unknown } | null | undefined;
  if (!meta || typeof meta !== 'object') return undefined;
  const version = typeof meta.version === 'number' ? ` (version ${meta.version})` : '';
  if (meta.destroyed === true) return `the latest version${version} of this secret was destroyed`;
  if (typeof meta.deletion_time === 'string' && meta.deletion_time !== '') {
    return `the latest version${version} of this secret was deleted at ${meta.deletion_time}`;
  }
  return undefined;
}

/**
 * Does `value` hold any of `needles` anywhere, in a key or in a string, at any depth (as a substring:
 * `Bearer <token>` counts)? Iterative, so a deeply nested answer cannot overflow the stack. Pure.
 */
export function containsAnyString(value: unknown, needles: readonly string[]): boolean {
  const wanted = needles.filter((n) => n.length > 0);
  if (wanted.length === 0) return false;
  const has = (s: string): boolean => wanted.some((n) => s.includes(n));
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (has(v)) return true;
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (has(k)) return true;
        stack.push(x);
      }
    }
  }
  return false;
}
