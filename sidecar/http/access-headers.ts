/**
 * The request headers the API decides on, read in one pass over rawHeaders. node builds `req.headers` lazily, an
 * object of every header with every name lower-cased, on first access; a read needs five of them, so this reads
 * the raw list once (a name is lower-cased only when its length is one of theirs) and leaves that object unbuilt.
 * Values are node's: the first Host and Authorization (node drops later ones; a request that repeats one is
 * refused by `repeated` anyway), other headers' repeats joined with ", ". One difference, on purpose: node stops
 * filling req.headers after 1000 headers (maxHeadersCount) while rawHeaders has them all, and this reads them all,
 * so a forwarded header placed past the thousandth is still refused. Pure.
 */
export interface AccessHeaders {
  host: string | undefined;
  authorization: string | undefined;
  vaultToken: string | undefined;
  ifNoneMatch: string | undefined;
  wrapTtl: string | undefined;
  /** X-Forwarded-For, Forwarded or X-Real-IP is present (with any value, even empty) */
  forwarded: boolean;
  /** the first of Host, Authorization and X-Vault-Token the request repeats: which one counts is ambiguous */
  repeated: 'host' | 'authorization' | 'x-vault-token' | undefined;
}

const join = (prev: string | undefined, v: string): string => (prev === undefined ? v : `${prev}, ${v}`);

export function accessHeaders(raw: string[]): AccessHeaders {
  const h: AccessHeaders = {
    host: undefined,
    authorization: undefined,
    vaultToken: undefined,
    ifNoneMatch: undefined,
    wrapTtl: undefined,
    forwarded: false,
    repeated: undefined,
  };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i] as string;
    const v = raw[i + 1] as string;
    switch (n.length) {
      case 4:
        if (n.toLowerCase() === 'host') {
          if (h.host === undefined) h.host = v;
          else h.repeated ??= 'host';
        }
        break;
      case 9: {
        const l = n.toLowerCase();
        if (l === 'forwarded' || l === 'x-real-ip') h.forwarded = true;
        break;
      }
      case 13: {
        const l = n.toLowerCase();
        if (l === 'authorization') {
          if (h.authorization === undefined) h.authorization = v;
          else h.repeated ??= 'authorization';
        } else if (l === 'x-vault-token') {
          if (h.vaultToken !== undefined) h.repeated ??= 'x-vault-token';
          h.vaultToken = join(h.vaultToken, v);
        } else if (l === 'if-none-match') h.ifNoneMatch = join(h.ifNoneMatch, v);
        break;
      }
      case 15:
        if (n.toLowerCase() === 'x-forwarded-for') h.forwarded = true;
        break;
      case 16:
        if (n.toLowerCase() === 'x-vault-wrap-ttl') h.wrapTtl = join(h.wrapTtl, v);
        break;
    }
  }
  return h;
}
