/**
 * Test-only: builds a Vault IAM login payload the way docs/vault-and-aws.md describes, with @smithy/signature-v4.
 * Deliberately independent of the sidecar's code so the stand-ins are checked against the spec, not the client.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import type { IssuedCredentials } from '../../../stand-ins/types.js';

export const GCI_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

export interface SignOpts {
  region?: string; // default us-east-1
  host?: string; // default from region
  serverId?: string;
  signingDate?: Date;
  body?: string;
  extraHeaders?: Record<string, string>;
  /** headers to sign but leave out of iam_request_headers */
  omitFromPayload?: string[];
  unsignableHeaders?: string[];
}

export interface SignedStsRequest {
  url: string;
  host: string;
  headers: Record<string, string>;
  body: string;
}

export async function signGetCallerIdentity(
  creds: Pick<IssuedCredentials, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
  o: SignOpts = {},
): Promise<SignedStsRequest> {
  const region = o.region ?? 'us-east-1';
  const host = o.host ?? (region === 'us-east-1' ? 'sts.amazonaws.com' : `sts.${region}.amazonaws.com`);
  const body = o.body ?? GCI_BODY;
  const headers: Record<string, string> = {
    host,
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    ...(o.serverId !== undefined ? { 'x-vault-aws-iam-server-id': o.serverId } : {}),
    ...(o.extraHeaders ?? {}),
  };
  const signer = new SignatureV4({
    service: 'sts',
    region,
    sha256: Hash.bind(null, 'sha256'),
    credentials: {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
    },
  });
  const signed = await signer.sign(
    { method: 'POST', protocol: 'https:', hostname: host, path: '/', headers, body, query: {} },
    { signingDate: o.signingDate, unsignableHeaders: o.unsignableHeaders ? new Set(o.unsignableHeaders) : undefined },
  );
  return { url: `https://${host}/`, host, headers: signed.headers, body };
}

/** Canonical (Go http.Header) casing, as Vault would see it after parsing. */
function canon(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

export function loginPayload(role: string, req: SignedStsRequest, omit: string[] = ['host']): Record<string, string> {
  const hdrs: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (omit.includes(k.toLowerCase())) continue;
    hdrs[canon(k)] = [v];
  }
  return {
    role,
    iam_http_request_method: 'POST',
    iam_request_url: Buffer.from(req.url).toString('base64'),
    iam_request_body: Buffer.from(req.body).toString('base64'),
    iam_request_headers: Buffer.from(JSON.stringify(hdrs)).toString('base64'),
  };
}

// JSON answers are inspected loosely in tests; the assertions are the type check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export async function vaultCall(
  addr: string,
  method: string,
  path: string,
  o: { token?: string; body?: unknown; ns?: string } = {},
) {
  const res = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: {
      ...(o.token ? { 'x-vault-token': o.token } : {}),
      ...(o.ns ? { 'x-vault-namespace': o.ns } : {}),
      'content-type': 'application/json',
    },
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}
