import * as crypto from 'node:crypto';

/** SHA-256 of a presented token; crypto.hash (Node >= 20.12) skips the Hash object. */
const digest: (s: string) => Buffer =
  typeof crypto.hash === 'function' ? (s) => crypto.hash('sha256', s, 'buffer') : (s) => crypto.createHash('sha256').update(s).digest();

const BEARER = /^Bearer\s+(\S+)\s*$/i;

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
  return (header) => {
    if (header === undefined) return 'missing';
    if (header.length === canonical.length && crypto.timingSafeEqual(Buffer.from(header, 'latin1'), canonical)) return 'ok';
    const m = BEARER.exec(header);
    if (!m || m[1] === undefined) return 'missing';
    return crypto.timingSafeEqual(digest(m[1]), expected) ? 'ok' : 'wrong';
  };
}
