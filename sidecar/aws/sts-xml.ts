/**
 * STS's query-protocol answers, read without an XML library: AssumeRoleWithWebIdentity's result and STS's
 * `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error>`. Both are flat elements with text
 * content, so a tag finder plus entity decoding is enough; anything else is a named error, never a crash.
 * Every scan is indexOf or a regex without nested quantifiers: linear in the answer, which the caller bounds.
 * Pure.
 */
import { VaultIrsaError } from '../errors.js';
import type { AwsCredentials } from '../iam-login.js';

/** An STS answer that is an error or cannot be read. */
export class StsError extends VaultIrsaError {
  override readonly name = 'StsError';
  /** STS's error Code (InvalidIdentityToken, Throttling, ...), or MalformedResponse / UnknownError */
  readonly awsCode: string;
  /** the HTTP status of the answer */
  readonly status: number | undefined;
  constructor(awsCode: string, message: string, status?: number) {
    super('sts_error', message);
    this.awsCode = awsCode;
    this.status = status;
  }
}

const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML's five named entities and numeric references; anything else is left as written. */
export function decodeXmlEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,8}|#[0-9]{1,10}|[a-zA-Z]{2,4});/g, (whole, ref: string) => {
    if (ref.charCodeAt(0) !== 35 /* # */) return NAMED[ref] ?? whole;
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    // XML's Char production: no NUL, no lone surrogates, nothing past U+10FFFF
    if (code < 1 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return whole;
    return String.fromCodePoint(code);
  });
}

/**
 * The decoded text of the first `<tag>` (attributes allowed, no namespace prefix) inside `xml`, or undefined
 * when there is none or it is not closed. Text only: an element holding child elements is returned raw.
 */
export function elementText(xml: string, tag: string): string | undefined {
  const inner = elementInner(xml, tag);
  return inner === undefined ? undefined : decodeXmlEntities(inner);
}

function elementInner(xml: string, tag: string): string | undefined {
  const open = new RegExp(`<${tag}(?:\\s[^<>]*)?>`).exec(xml);
  if (open === null) return undefined;
  const start = open.index + open[0].length;
  const end = xml.indexOf(`</${tag}>`, start);
  return end < 0 ? undefined : xml.slice(start, end);
}

/**
 * An RFC 3339 date-time as STS and the agent write it (2026-12-02T03:15:00Z); fractional seconds (LocalStack writes
 * microseconds), offsets and a lowercase t/z are allowed, as RFC 3339 allows them.
 */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,12})?(?:Z|[+-]\d{2}:\d{2})$/i;

export function parseDateTime(s: string): Date | undefined {
  if (!DATE_TIME.test(s)) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const MESSAGE_MAX = 500;

/**
 * STS's error answer as an StsError named by its Code. An answer that is not STS's (a proxy's HTML page,
 * an empty 503) is named by its status, so retry decisions still see the status.
 */
export function parseStsError(status: number, body: string): StsError {
  const error = elementInner(body, 'Error');
  const code = error === undefined ? undefined : elementText(error, 'Code')?.trim();
  if (code === undefined || !/^[\w.:-]{1,100}$/.test(code))
    return new StsError('UnknownError', `STS answered HTTP ${status} without an STS error in the body`, status);
  const message = (elementText(error ?? '', 'Message') ?? '').trim().slice(0, MESSAGE_MAX);
  return new StsError(code, message || `(STS gave no message, HTTP ${status})`, status);
}

/** AssumeRoleWithWebIdentity's answer → credentials; a non-200 answer or a 200 without all four fields throws. */
export function parseAssumeRoleWithWebIdentity(status: number, body: string): AwsCredentials {
  if (status !== 200) throw parseStsError(status, body);
  const credentials = elementInner(body, 'Credentials');
  if (credentials === undefined)
    throw new StsError('MalformedResponse', 'STS answered 200 without a Credentials element', status);
  const field = (name: string): string => {
    const v = elementText(credentials, name)?.trim();
    if (v === undefined || v === '')
      throw new StsError('MalformedResponse', `STS answered 200 without Credentials/${name}`, status);
    return v;
  };
  const accessKeyId = field('AccessKeyId');
  const secretAccessKey = field('SecretAccessKey');
  const sessionToken = field('SessionToken');
  const expiration = parseDateTime(field('Expiration'));
  if (expiration === undefined)
    throw new StsError(
      'MalformedResponse',
      'STS answered 200 with a Credentials/Expiration that is not a date-time',
      status,
    );
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}
