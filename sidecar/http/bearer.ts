import * as crypto from 'node:crypto';

/** SHA-256 of a presented token; crypto.hash (Node >= 20.12) skips the Hash object. */
const digest: (s: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (s) => crypto.hash('sha256', s, 'buffer')
    : (s) => crypto.createHash('sha256').update(s).digest();

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * A header value of a known length as latin1 bytes, written into one buffer made at start: every read checks a
 * token, and a Buffer per check was most of what the check allocated. Used synchronously, so never shared.
 * It holds the last value presented, as the allocation it replaces did until collected.
 */
function scratchOf(length: number): (value: string) => Buffer {
  const buf = Buffer.alloc(length);
  return (value) => {
    buf.write(value, 0, 'latin1');
    return buf;
  };
}

export type BearerCheck = 'ok' | 'missing' | 'wrong';

/**
 * The one place a request token is checked. `Authorization: Bearer <token>` (scheme in any case, any
 * whitespace): no such header is `missing` (401), another token `wrong` (403).
 *
 * Constant time: the canonical spelling `Bearer <token>` is compared whole with timingSafeEqual when the
 * length matches (the length is the same for every pod, so testing it first reveals nothing); any other
 * spelling compares SHA-256 digests, which have equal length, with timingSafeEqual.
 */
export function bearerChecker(requestToken: string): (header: string | undefined) => BearerCheck {
  const expected = digest(requestToken);
  const canonical = Buffer.from(`Bearer ${requestToken}`, 'latin1');
  const presented = scratchOf(canonical.length);
  return (header) => {
    if (header === undefined) return 'missing';
    if (header.length === canonical.length && crypto.timingSafeEqual(presented(header), canonical)) return 'ok';
    const m = BEARER.exec(header);
    if (!m || m[1] === undefined) return 'missing';
    return crypto.timingSafeEqual(digest(m[1]), expected) ? 'ok' : 'wrong';
  };
}

/**
 * The Vault-shaped surface takes the token the way every Vault client sends it, `X-Vault-Token: <token>`,
 * and also `Authorization: Bearer <token>` (as Vault does). Both are compared in constant time. Every token
 * presented must be the right one: a right token in one header and a wrong one in the other is `wrong`
 * (which one would the caller mean?). An Authorization header of another scheme presents no token.
 */
export function vaultTokenChecker(
  requestToken: string,
): (authorization: string | undefined, xVaultToken: string | string[] | undefined) => BearerCheck {
  const bearer = bearerChecker(requestToken);
  const expected = digest(requestToken);
  const raw = Buffer.from(requestToken, 'latin1');
  const presented = scratchOf(raw.length);
  const header = (v: string): BearerCheck => {
    // node decodes header bytes as latin1, so a value's length in chars is its length in bytes
    if (v.length === raw.length && crypto.timingSafeEqual(presented(v), raw)) return 'ok';
    return crypto.timingSafeEqual(digest(v), expected) ? 'ok' : 'wrong';
  };
  return (authorization, xVaultToken) => {
    const a = bearer(authorization);
    // sent twice: node joins the values (", "), which is never the token; an array is refused the same way
    const x = xVaultToken === undefined ? 'missing' : Array.isArray(xVaultToken) ? 'wrong' : header(xVaultToken);
    if (a === 'wrong' || x === 'wrong') return 'wrong';
    return a === 'ok' || x === 'ok' ? 'ok' : 'missing';
  };
}
