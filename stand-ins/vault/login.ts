/**
 * Vault's AWS auth `iam` login, step by step as builtin/credential/aws/path_login.go does it (docs/vault-and-aws.md, "How Vault checks a login"):
 * same order, same messages. Each step is a small function; vault.ts strings them together.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SERVED_REGION_HEADER, regionForHost } from '../sts.js';

export type Step<T> = { ok: true; value: T } | { ok: false; error: string };
const ok = <T>(value: T): Step<T> => ({ ok: true, value });
const err = <T>(error: string): Step<T> => ({ ok: false, error });

export const IAM_SERVER_ID_HEADER = 'X-Vault-AWS-IAM-Server-ID';
/** Vault's default allow-list of X-Amz-* headers inside iam_request_headers (path_config_client.go). */
export const DEFAULT_ALLOWED_STS_HEADERS = [
  'X-Amz-Algorithm',
  'X-Amz-Content-Sha256',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
  'X-Amz-SignedHeaders',
];

export interface ParsedLogin {
  role: string;
  method: string;
  url: { raw: string; host: string; requestUri: string; query: string };
  body: string;
  headers: Map<string, string[]>; // canonical MIME key → values
}

/** Go's textproto.CanonicalMIMEHeaderKey. */
export function canonicalHeaderKey(k: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k)) return k;
  return k.toLowerCase().replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

/** Go's base64.StdEncoding.DecodeString: padded standard alphabet; CR/LF ignored. */
export function b64StdDecode(s: string): Buffer | undefined {
  const t = s.replace(/[\r\n]/g, '');
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return undefined;
  return Buffer.from(t, 'base64');
}

/** Go's url.Parse is lenient; it fails on control characters, bad escapes and bad hosts. */
function goUrlParse(raw: string): ParsedLogin['url'] | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(raw)) return undefined;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return undefined;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/.exec(raw);
  if (m) {
    const host = m[2]!.replace(/^.*@/, '');
    if (/[[\]]/.test(host) && !/^\[[0-9a-fA-F:.]+\](:\d*)?$/.test(host)) return undefined;
    if (/:\D/.test(host.replace(/^\[.*\]/, ''))) return undefined;
    const path = m[3] || '/';
    const query = m[4] ?? '';
    return { raw, host, requestUri: query ? `${path}?${query}` : path, query };
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(raw) && !raw.includes('://'))
    return { raw, host: '', requestUri: raw.replace(/^[^:]+:/, ''), query: '' };
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const query = qi < 0 ? '' : raw.slice(qi + 1);
  return { raw, host: '', requestUri: (path || '/') + (query ? `?${query}` : ''), query };
}

/** framework.TypeHeader: base64 of JSON, raw JSON, or an object; values a string or a list of strings. */
export function parseHeaderField(v: unknown): Step<Map<string, string[]>> {
  let obj: unknown = v;
  if (typeof v === 'string' && v.trim() === '') return ok(new Map());
  if (typeof v === 'string') {
    const dec = b64StdDecode(v);
    const text = dec && v.trim() !== '' ? dec.toString('utf8') : v;
    try {
      obj = JSON.parse(text);
    } catch {
      try {
        obj = JSON.parse(v);
      } catch {
        return err(
          `error converting input ${JSON.stringify(v).slice(0, 40)} for field "iam_request_headers": invalid header value`,
        );
      }
    }
  }
  const out = new Map<string, string[]>();
  if (obj === null || obj === undefined || obj === '') return ok(out);
  if (typeof obj !== 'object' || Array.isArray(obj))
    return err('error converting input for field "iam_request_headers": expected a JSON object');
  for (const [k, val] of Object.entries(obj as Record<string, unknown>)) {
    const key = canonicalHeaderKey(k);
    const vals =
      typeof val === 'string' ? [val] : Array.isArray(val) && val.every((x) => typeof x === 'string') ? val : undefined;
    if (!vals)
      return err(
        `error converting input for field "iam_request_headers": header "${k}" must be a string or a list of strings`,
      );
    out.set(key, [...(out.get(key) ?? []), ...vals]);
  }
  return ok(out);
}

const IAM_FIELDS = ['iam_http_request_method', 'iam_request_url', 'iam_request_body', 'iam_request_headers'] as const;

/** Steps 1–5: presence, method, URL, body, headers. */
export function parseLoginRequest(data: Record<string, unknown>): Step<ParsedLogin> {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(data, k) && data[k] !== null && data[k] !== undefined;
  // 1. OpenBao / Vault 1.14 wording: a partial IAM payload ends here too
  if (!IAM_FIELDS.every(has)) return err("didn't supply required authentication values");
  const str = (k: string) =>
    typeof data[k] === 'string' ? data[k] : data[k] === undefined || data[k] === null ? '' : String(data[k]);
  // 2.
  const method = str('iam_http_request_method');
  if (method === '') return err('missing iam_http_request_method');
  if (method !== 'POST') return err("invalid iam_http_request_method; currently only 'POST' is supported");
  // 3.
  const urlB64 = str('iam_request_url');
  if (urlB64 === '') return err('missing iam_request_url');
  const rawUrl = b64StdDecode(urlB64);
  if (!rawUrl) return err('failed to base64 decode iam_request_url');
  const url = goUrlParse(rawUrl.toString('utf8'));
  if (!url) return err('error parsing iam_request_url');
  if (url.query !== '') return err('invalid request');
  // 4.
  const bodyB64 = str('iam_request_body');
  if (bodyB64 === '') return err('missing iam_request_body');
  const bodyRaw = b64StdDecode(bodyB64);
  if (!bodyRaw) return err('failed to base64 decode iam_request_body');
  const body = bodyRaw.toString('utf8');
  if (!validGetCallerIdentityBody(body)) return err('iam request body is invalid');
  // 5.
  const headers = parseHeaderField(data.iam_request_headers);
  if (!headers.ok) return headers;
  if (headers.value.size === 0) return err('missing iam_request_headers');
  return ok({ role: str('role'), method, url, body, headers: headers.value });
}

export function validGetCallerIdentityBody(body: string): boolean {
  if (body.includes(';')) return false; // Go's ParseQuery rejects semicolons
  const qs = new Map<string, string[]>();
  for (const part of body.split('&')) {
    if (part === '') continue;
    const i = part.indexOf('=');
    let k: string;
    let v: string;
    try {
      k = decodeURIComponent((i < 0 ? part : part.slice(0, i)).replace(/\+/g, ' '));
      v = decodeURIComponent((i < 0 ? '' : part.slice(i + 1)).replace(/\+/g, ' '));
    } catch {
      return false;
    }
    qs.set(k, [...(qs.get(k) ?? []), v]);
  }
  for (const k of qs.keys()) if (k !== 'Action' && k !== 'Version') return false;
  const action = qs.get('Action');
  if (!action || action.length !== 1 || action[0] !== 'GetCallerIdentity') return false;
  const version = qs.get('Version');
  if (version && (version.length !== 1 || version[0] !== '2011-06-15')) return false;
  return true;
}

/** Step 6: the server-ID header must be present, equal, and signed. */
export function validateServerIdHeader(headers: Map<string, string[]>, required: string): string | undefined {
  let provided = '';
  for (const [k, v] of headers) {
    if (k.toLowerCase() === IAM_SERVER_ID_HEADER.toLowerCase()) {
      provided = v.join(',');
      break;
    }
  }
  const wrap = (e: string) => `error validating ${IAM_SERVER_ID_HEADER} header: ${e}`;
  if (provided === '') return wrap(`missing header ${JSON.stringify(IAM_SERVER_ID_HEADER)}`);
  if (provided !== required) return wrap(`expected ${JSON.stringify(required)} but got ${JSON.stringify(provided)}`);
  const authz = headers.get('Authorization');
  if (!authz) return wrap('missing Authorization header');
  const m = /.*SignedHeaders=([^,]+)/.exec(authz.join(','));
  if (!m) return wrap("vault header wasn't signed");
  if (!m[1]!.split(';').includes(IAM_SERVER_ID_HEADER.toLowerCase())) return wrap("vault header wasn't signed");
  return undefined;
}

/** Step 7: only Vault's allow-list of X-Amz-* headers may travel in iam_request_headers. */
export function validateAllowedHeaders(
  headers: Map<string, string[]>,
  extraAllowed: string[] = [],
): string | undefined {
  const allowed = new Set([...DEFAULT_ALLOWED_STS_HEADERS, ...extraAllowed.map(canonicalHeaderKey)]);
  for (const k of headers.keys()) {
    const h = canonicalHeaderKey(k);
    if (h.startsWith('X-Amz-') && !allowed.has(h)) return `invalid request header: ${h}`;
  }
  return undefined;
}

export interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
}

export interface ForwardTarget {
  /** URL the fake actually connects to */
  connectUrl: string;
  /** region of the real endpoint this stands for (undefined: the Host header decides) */
  servedRegion?: string;
}

/**
 * Where Vault would send the login: its sts_endpoint (default https://sts.amazonaws.com) or, with
 * use_sts_region_from_client, the regional endpoint of the credential scope. Real AWS endpoints map to the
 * fake STS url, remembering which region that endpoint serves.
 */
export function forwardTarget(
  stsEndpoint: string,
  fakeStsUrl: string,
  useRegionFromClient: boolean,
  headers: Map<string, string[]>,
): Step<ForwardTarget> {
  if (useRegionFromClient) {
    const authz = (headers.get('Authorization') ?? []).join(',');
    const m = /Credential=[^/]+\/\d{8}\/([^/]+)\/sts\/aws4_request/.exec(authz);
    if (!m) return err('unable to determine the region from the Authorization header');
    return ok({ connectUrl: fakeStsUrl, servedRegion: m[1] });
  }
  let u: URL;
  try {
    u = new URL(stsEndpoint);
  } catch {
    return err(`error making upstream request: invalid sts_endpoint ${JSON.stringify(stsEndpoint)}`);
  }
  if (u.hostname.endsWith('.amazonaws.com') || u.hostname.endsWith('.amazonaws.com.cn')) {
    return ok({ connectUrl: fakeStsUrl, servedRegion: regionForHost(u.hostname) });
  }
  return ok({ connectUrl: stsEndpoint.replace(/\/+$/, '') });
}

/** Step 8: Vault's submitCallerIdentityRequest — POST `${endpoint}/${RequestURI}` (hence `//`), client Host, listed headers. */
export async function submitCallerIdentityRequest(
  target: ForwardTarget,
  login: ParsedLogin,
  timeoutMs = 10000,
): Promise<Step<CallerIdentity>> {
  const base = new URL(target.connectUrl);
  const path = `${base.pathname.replace(/\/+$/, '')}/${login.url.requestUri}`;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of login.headers) headers[k] = v;
  // Go: request.Host = parsedUrl.Host; an explicit Host entry in the headers is not used by net/http
  delete headers.Host;
  if (login.url.host) headers.Host = login.url.host;
  else headers.Host = base.host;
  headers['Content-Length'] = String(Buffer.byteLength(login.body));
  if (target.servedRegion) headers[SERVED_REGION_HEADER] = target.servedRegion;
  const reqFn = base.protocol === 'https:' ? httpsRequest : httpRequest;
  const wrap = (e: string) => `error making upstream request: ${e}`;
  let res: { status: number; contentType: string | undefined; body: string };
  try {
    res = await new Promise((resolve, reject) => {
      const req = reqFn(
        {
          host: base.hostname,
          port: base.port,
          method: login.method,
          path,
          headers,
          signal: AbortSignal.timeout(timeoutMs),
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () =>
            resolve({
              status: r.statusCode ?? 0,
              contentType: r.headers['content-type'],
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          r.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(login.body);
    });
  } catch (e) {
    return err(wrap(`error making request: ${e instanceof Error ? e.message : String(e)}`));
  }
  if (res.contentType !== 'text/xml') return err(wrap('body of GetCallerIdentity is invalid'));
  if (res.status !== 200) return err(wrap(`received error code ${res.status} from STS: ${res.body}`));
  const body = res.body.trim();
  if (!body.startsWith('<GetCallerIdentityResponse') && !body.startsWith('<?xml'))
    return err(wrap('body of GetCallerIdentity is invalid'));
  const results = body.match(/<GetCallerIdentityResult>[\s\S]*?<\/GetCallerIdentityResult>/g) ?? [];
  if (!/<GetCallerIdentityResponse[\s>]/.test(body)) return err(wrap('error parsing STS response'));
  if (results.length !== 1) return err(wrap(`received ${results.length} identities in STS response but expected 1`));
  const pick = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(results[0])?.[1] ?? '';
  const unxml = (s: string) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  return ok({ arn: unxml(pick('Arn')), userId: unxml(pick('UserId')), account: unxml(pick('Account')) });
}

export interface IamEntity {
  partition: string;
  account: string;
  type: string;
  path: string;
  friendlyName: string;
  sessionInfo: string;
}

/** Step 9: parseIamArn. */
export function parseIamArn(arn: string): Step<IamEntity> {
  const full = arn.split(':');
  if (full.length !== 6) return err(`unrecognized arn: contains ${full.length} colon-separated parts, expected 6`);
  if (full[0] !== 'arn') return err('unrecognized arn: does not begin with "arn:"');
  if (full[2] !== 'iam' && full[2] !== 'sts') return err(`unrecognized service: ${full[2]}, not one of iam or sts`);
  const parts = full[5]!.split('/');
  if (parts.length < 2)
    return err(`unrecognized arn: ${JSON.stringify(full[5])} contains fewer than 2 slash-separated parts`);
  const e: IamEntity = {
    partition: full[1]!,
    account: full[4]!,
    type: parts[0]!,
    path: parts.slice(1, -1).join('/'),
    friendlyName: parts[parts.length - 1]!,
    sessionInfo: '',
  };
  switch (e.type) {
    case 'assumed-role':
      e.path = '';
      e.friendlyName = parts[1]!;
      e.sessionInfo = parts[2] ?? '';
      break;
    case 'user':
    case 'role':
    case 'instance-profile':
      break;
    default:
      return err(`unrecognized principal type: ${JSON.stringify(e.type)}`);
  }
  return ok(e);
}

export function canonicalArn(e: IamEntity): string {
  const type = e.type === 'assumed-role' ? 'role' : e.type;
  return `arn:${e.partition}:iam::${e.account}:${type}/${e.friendlyName}`;
}

/** strutil.GlobbedStringsMatch for a trailing '*'. */
export function globbedMatch(pattern: string, s: string): boolean {
  return pattern.endsWith('*') ? s.startsWith(pattern.slice(0, -1)) : pattern === s;
}
