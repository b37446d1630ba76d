/**
 * AWS Signature Version 4 verification, as STS does it server-side: a pure function over a received request.
 * It recomputes the signature from the secret of the access key named in the credential scope and compares.
 * Header-based auth only (the IAM login is a signed POST, never presigned).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SigV4Request {
  method: string;
  /** raw request target path as received, e.g. "/" or "//" (no query) */
  path: string;
  /** raw query string without '?' ('' for none) */
  query: string;
  /** header name (any case) → value(s) as received */
  headers: Record<string, string | string[] | undefined>;
  body: string | Uint8Array;
}

export interface SigV4Secret {
  secretAccessKey: string;
  /** required in X-Amz-Security-Token when set (temporary credentials) */
  sessionToken?: string;
  /** credentials stop working after this instant */
  expiration?: Date;
}

export interface SigV4VerifyOptions {
  now: Date;
  service: string;
  /** the region the endpoint serves; undefined = any region is accepted */
  region?: string;
  lookup: (accessKeyId: string) => SigV4Secret | undefined;
  /** allowed clock skew / signature age; AWS uses 15 minutes */
  maxSkewMs?: number;
}

export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string; service: string; signedHeaders: string[]; amzDate: string }
  | { ok: false; status: number; code: string; message: string; region?: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const FIFTEEN_MIN = 15 * 60 * 1000;

const fail = (status: number, code: string, message: string, region?: string): SigV4Result => ({
  ok: false,
  status,
  code,
  message,
  ...(region ? { region } : {}),
});

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX uppercase. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Canonical URI for every service but S3: dot segments removed and empty segments (`//`) collapsed, each
 * segment encoded once. This is why Vault's `//` path still verifies against a client that signed `/`.
 */
export function canonicalUri(rawPath: string): string {
  const out: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      out.pop();
      continue;
    }
    out.push(uriEncode(safeDecode(seg)));
  }
  const trailing = rawPath.length > 1 && rawPath.endsWith('/') && out.length > 0;
  return `/${out.join('/')}${trailing ? '/' : ''}`;
}

export function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      const k = i < 0 ? p : p.slice(0, i);
      const v = i < 0 ? '' : p.slice(i + 1);
      return [uriEncode(safeDecode(k.replace(/\+/g, '%20'))), uriEncode(safeDecode(v.replace(/\+/g, '%20')))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValues(headers: SigV4Request['headers'], name: string): string[] | undefined {
  const lower = name.toLowerCase();
  const out: string[] = [];
  let found = false;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== lower || v === undefined) continue;
    found = true;
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return found ? out : undefined;
}

export function canonicalHeaderValue(values: string[]): string {
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/sts/aws4_request, SignedHeaders=a;b, Signature=hex`. */
export function parseAuthorization(value: string): ParsedAuthorization | string {
  if (!value.startsWith(`${ALGORITHM} `)) return `Unsupported algorithm or malformed Authorization header`;
  const fields: Record<string, string> = {};
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const t = part.trim();
    const i = t.indexOf('=');
    if (i <= 0) return `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters`;
    fields[t.slice(0, i)] = t.slice(i + 1);
  }
  const cred = fields.Credential;
  const sh = fields.SignedHeaders;
  const sig = fields.Signature;
  if (!cred || !sh || !sig) {
    const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !fields[k]);
    return `Authorization header requires '${missing.join("', '")}' parameter(s). Authorization=${ALGORITHM}`;
  }
  const scope = cred.split('/');
  if (scope.length !== 5) return `Credential should have exactly 5 slash-separated parts, not ${scope.length}`;
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminator, signedHeaders: sh.split(';'), signature: sig };
}

/** The canonical request and string to sign for `req` under the given signed-header list (exported for tests). */
export function buildStringToSign(
  req: SigV4Request,
  signedHeaders: string[],
  amzDate: string,
  scope: string,
): { canonicalRequest: string; stringToSign: string } | { missingHeader: string } {
  const lines: string[] = [];
  for (const h of signedHeaders) {
    const vals = headerValues(req.headers, h);
    if (vals === undefined) return { missingHeader: h };
    lines.push(`${h}:${canonicalHeaderValue(vals)}\n`);
  }
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(req.path),
    canonicalQuery(req.query),
    lines.join(''),
    signedHeaders.join(';'),
    sha256Hex(req.body),
  ].join('\n');
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  return { canonicalRequest, stringToSign };
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m;
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
  return Number.isNaN(t) ? undefined : new Date(t);
}

export function formatAmzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Verifies a SigV4 header-signed request; the order of checks and the error codes follow AWS STS. */
export function verifySigV4(req: SigV4Request, opts: SigV4VerifyOptions): SigV4Result {
  const authz = headerValues(req.headers, 'authorization');
  if (!authz || authz.length === 0 || !authz[0]) {
    return fail(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
  }
  if (authz.length > 1) return fail(403, 'IncompleteSignature', 'Multiple Authorization headers');
  const parsed = parseAuthorization(authz[0]);
  if (typeof parsed === 'string') return fail(403, 'IncompleteSignature', parsed);
  const { accessKeyId, date, region, service, terminator, signedHeaders, signature } = parsed;

  if (!signedHeaders.includes('host')) {
    return fail(
      403,
      'IncompleteSignature',
      `'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`,
    );
  }
  const sortedOk = signedHeaders.every((h, i) => h === h.toLowerCase() && (i === 0 || signedHeaders[i - 1]! < h));
  if (!sortedOk) return fail(403, 'SignatureDoesNotMatch', 'SignedHeaders must be lowercase and sorted');
  const amzDateVals = headerValues(req.headers, 'x-amz-date');
  const amzDate = amzDateVals?.[0];
  if (!amzDate) {
    return fail(
      403,
      'IncompleteSignature',
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.`,
    );
  }
  const when = parseAmzDate(amzDate);
  if (!when)
    return fail(
      403,
      'IncompleteSignature',
      `X-Amz-Date must be in ISO 8601 basic format (YYYYMMDD'T'HHMMSS'Z'), got ${amzDate}`,
    );
  if (terminator !== 'aws4_request') {
    return fail(
      403,
      'SignatureDoesNotMatch',
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`,
    );
  }
  if (date !== amzDate.slice(0, 8)) {
    return fail(
      403,
      'SignatureDoesNotMatch',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (service !== opts.service) {
    return fail(403, 'SignatureDoesNotMatch', `Credential should be scoped to correct service: '${opts.service}'. `);
  }
  if (opts.region !== undefined && region !== opts.region) {
    return fail(
      403,
      'SignatureDoesNotMatch',
      `Credential should be scoped to a valid region, not '${region}'. `,
      region,
    );
  }
  const secret = opts.lookup(accessKeyId);
  if (!secret)
    return fail(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.', region);
  const tokenVals = headerValues(req.headers, 'x-amz-security-token');
  if (secret.sessionToken !== undefined) {
    if (!tokenVals || tokenVals.length !== 1 || tokenVals[0] !== secret.sessionToken) {
      return fail(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.', region);
    }
  } else if (tokenVals) {
    return fail(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.', region);
  }
  if (secret.expiration && opts.now.getTime() >= secret.expiration.getTime()) {
    return fail(403, 'ExpiredToken', 'The security token included in the request is expired', region);
  }
  const skew = opts.maxSkewMs ?? FIFTEEN_MIN;
  const nowStr = formatAmzDate(opts.now);
  if (when.getTime() < opts.now.getTime() - skew) {
    return fail(
      403,
      'SignatureDoesNotMatch',
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(new Date(opts.now.getTime() - skew))} (${nowStr} - 15 min.)`,
      region,
    );
  }
  if (when.getTime() > opts.now.getTime() + skew) {
    return fail(
      403,
      'SignatureDoesNotMatch',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(new Date(opts.now.getTime() + skew))} (${nowStr} + 15 min.)`,
      region,
    );
  }
  const scope = `${date}/${region}/${service}/aws4_request`;
  const built = buildStringToSign(req, signedHeaders, amzDate, scope);
  const mismatch =
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
  if ('missingHeader' in built) return fail(403, 'SignatureDoesNotMatch', mismatch, region);
  const expected = createHmac('sha256', signingKey(secret.secretAccessKey, date, region, service))
    .update(built.stringToSign, 'utf8')
    .digest('hex');
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(signature, 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return fail(403, 'SignatureDoesNotMatch', mismatch, region);
  return { ok: true, accessKeyId, region, service, signedHeaders, amzDate };
}
