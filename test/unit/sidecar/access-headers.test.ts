/**
 * accessHeaders reads from rawHeaders what the API would read from node's req.headers: the same values for any
 * list of headers (node's own _addHeaderLine, the function that builds req.headers, is the reference), and a
 * repeated Host, Authorization or X-Vault-Token named in the order the request repeats them.
 */
import fc from 'fast-check';
import { IncomingMessage } from 'node:http';
import { accessHeaders } from '../../../sidecar/http/access-headers.js';

/**
 * node's req.headers for a raw header list, built the way node builds it, without node's cut after 1000 headers
 * (accessHeaders reads them all, on purpose: api-listener.test.ts refuses a forwarded header past the cut)
 */
function nodeHeaders(raw: string[]): Record<string, string | string[]> {
  const dest: Record<string, string | string[]> = {};
  const msg = Object.create(IncomingMessage.prototype) as IncomingMessage & {
    _addHeaderLine(field: string, value: string, dest: Record<string, unknown>): void;
  };
  for (let i = 0; i + 1 < raw.length; i += 2) msg._addHeaderLine(raw[i] as string, raw[i + 1] as string, dest);
  return dest;
}

const NAMES = [
  'host',
  'authorization',
  'x-vault-token',
  'if-none-match',
  'x-vault-wrap-ttl',
  'x-forwarded-for',
  'forwarded',
  'x-real-ip',
  'accept',
  'hostx',
  'x-real-ips',
  'authorizatio',
];
/** a name in any mix of case, as a client may send it */
const name = fc
  .tuple(fc.constantFrom(...NAMES), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }))
  .map(([n, up]) => [...n].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
const value = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('W/"1"', '127.0.0.1', 'Bearer t'),
);
const rawList = fc.array(fc.tuple(name, value), { maxLength: 10 }).map((pairs) => pairs.flat());

test('the values are those of req.headers, for any header list', () => {
  fc.assert(
    fc.property(rawList, (raw) => {
      const n = nodeHeaders(raw);
      const h = accessHeaders(raw);
      expect(h.host).toBe(n.host);
      expect(h.authorization).toBe(n.authorization);
      expect(h.vaultToken).toBe(n['x-vault-token']);
      expect(h.ifNoneMatch).toBe(n['if-none-match']);
      expect(h.wrapTtl).toBe(n['x-vault-wrap-ttl']);
      expect(h.forwarded).toBe(
        n['x-forwarded-for'] !== undefined || n.forwarded !== undefined || n['x-real-ip'] !== undefined,
      );
    }),
    { numRuns: 2000 },
  );
});

test('repeated: the first of Host, Authorization, X-Vault-Token seen a second time', () => {
  fc.assert(
    fc.property(rawList, (raw) => {
      const seen = new Map<string, number>();
      let first: string | undefined;
      for (let i = 0; i < raw.length; i += 2) {
        const l = (raw[i] as string).toLowerCase();
        if (l !== 'host' && l !== 'authorization' && l !== 'x-vault-token') continue;
        const c = (seen.get(l) ?? 0) + 1;
        seen.set(l, c);
        if (c === 2) first ??= l;
      }
      expect(accessHeaders(raw).repeated).toBe(first);
    }),
    { numRuns: 2000 },
  );
  expect(accessHeaders(['Host', 'a', 'Authorization', 'x', 'HOST', 'b', 'authorization', 'y']).repeated).toBe('host');
  expect(accessHeaders(['X-Forwarded-For', '']).forwarded).toBe(true);
  const past = [...Array.from({ length: 1000 }, () => ['a', '']).flat(), 'X-Forwarded-For', '10.0.0.1'];
  expect(accessHeaders(past).forwarded).toBe(true);
});
