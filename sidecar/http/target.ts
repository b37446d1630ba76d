/**
 * The request target, parsed once. Pure: no I/O, no node:http types.
 *
 * Only origin-form (`/path?query`) is accepted. The path is split into segments and each segment is
 * percent-decoded exactly once, here and nowhere else; the decoded `path` is what both the access decision
 * and the router see, so the two can never disagree about which resource was asked for. What could be read
 * two ways is refused rather than canonicalised:
 *   - absolute-form (`http://host/…`, any scheme, any case, with or without userinfo), asterisk-form (`*`),
 *     authority-form (`host:port`) and anything else not starting with `/`
 *   - a fragment (`#`), which a client never sends
 *   - percent-encoding that does not decode to UTF-8
 *   - an empty segment (`//`, a trailing `/`), a dot segment (`.`, `..`, also as `%2e`), an encoded `/` (`%2F`)
 * Routes are case-sensitive: `/V1/secrets` is not `/v1/secrets` (and, like any unknown path on the API
 * listener, still needs the token).
 */
export interface Target {
  /** `/` + the decoded segments joined by `/`: the one path used to decide access and to route */
  path: string;
  segments: readonly string[];
  /** decoded query parameters; each name at most once */
  query: ReadonlyMap<string, string>;
}

export type TargetResult = { ok: true; target: Target } | { ok: false; message: string };

const NO_QUERY: ReadonlyMap<string, string> = new Map();
/** a scheme as RFC 3986 spells it, followed by `:` */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/**
 * The common case, a path of plain segments and no query: nothing to decode, and a segment cannot start
 * with `.`, so none is a dot segment.
 */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/;

const MALFORMED_URL = 'malformed request URL';

/**
 * Plain paths parsed lately, frozen: an app reads the same few paths over and over, and a Map lookup is a
 * fraction of the regex test, split and allocations it saves on every read. Bounded: when full it starts over,
 * so a client cycling through paths costs no more than without it.
 */
const plainCache = new Map<string, TargetResult>();
const PLAIN_CACHE_MAX = 256;
const PLAIN_CACHE_MAX_LENGTH = 128;

export function parseTarget(raw: string | undefined): TargetResult {
  if (raw === undefined || raw === '') return fail('empty request target');
  if (raw.charCodeAt(0) !== 0x2f /* / */) return fail(notOriginForm(raw));
  const cached = plainCache.get(raw);
  if (cached !== undefined) return cached;
  if (PLAIN_PATH.test(raw)) {
    // only paths an app reads are kept: a client cannot pin 256 targets of 8 KB each on the health port
    if (raw.length > PLAIN_CACHE_MAX_LENGTH)
      return { ok: true, target: { path: raw, segments: raw.slice(1).split('/'), query: NO_QUERY } };
    const segments = Object.freeze(raw.slice(1).split('/'));
    const result: TargetResult = Object.freeze({
      ok: true,
      target: Object.freeze({ path: raw, segments, query: NO_QUERY }),
    });
    if (plainCache.size >= PLAIN_CACHE_MAX) plainCache.clear();
    plainCache.set(raw, result);
    return result;
  }
  if (raw.includes('#')) return fail('a fragment ("#") is not part of a request target');
  const q = raw.indexOf('?');
  const rawPath = q === -1 ? raw : raw.slice(0, q);
  const segments: string[] = [];
  if (rawPath !== '/') {
    for (const rawSegment of rawPath.slice(1).split('/')) {
      const segment = decodeSegment(rawSegment);
      if (typeof segment !== 'string') return segment;
      segments.push(segment);
    }
  }
  const query = q === -1 ? { ok: true as const, query: NO_QUERY } : parseQuery(raw.slice(q + 1));
  if (!query.ok) return query;
  return { ok: true, target: { path: `/${segments.join('/')}`, segments, query: query.query } };
}

function decodeSegment(raw: string): string | { ok: false; message: string } {
  if (raw === '') return fail('empty path segment ("//" or a trailing "/")');
  let segment = raw;
  if (raw.includes('%')) {
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return fail(MALFORMED_URL);
    }
    if (segment.includes('/')) return fail('an encoded "/" (%2F) in a path segment is refused');
  }
  if (segment === '.' || segment === '..') return fail('dot segments ("." and "..") are refused');
  return segment;
}

/** `a=1&b=2`; `+` is a space; a name given twice is refused (which one would count?). */
export function parseQuery(
  raw: string,
): { ok: true; query: ReadonlyMap<string, string> } | { ok: false; message: string } {
  const query = new Map<string, string>();
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent((eq === -1 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
      value = eq === -1 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return fail(MALFORMED_URL);
    }
    if (query.has(name)) return fail(`query parameter "${clip(name)}" is given more than once`);
    query.set(name, value);
  }
  return { ok: true, query };
}

/** Names the form without echoing the target (absolute-form can carry userinfo). */
function notOriginForm(raw: string): string {
  if (raw === '*') return 'asterisk-form ("*") is not accepted; the request target must be a path such as /v1/secrets';
  if (SCHEME.test(raw) && raw.includes('//'))
    return 'absolute-form ("scheme://host/…") is not accepted; the request target must be a path such as /v1/secrets';
  return 'the request target must be a path starting with "/" (origin-form)';
}

function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}

function fail(message: string): { ok: false; message: string } {
  return { ok: false, message };
}
