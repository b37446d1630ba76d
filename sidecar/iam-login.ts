import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { stsEndpointFor } from './sts-endpoint.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface IamLoginInput {
  role: string;
  credentials: AwsCredentials;
  /** signing region; also picks the endpoint (us-east-1 → global) */
  region: string;
  iamServerId?: string;
  now: Date;
}

/** The JSON body of POST auth/<mount>/login for auth_type=iam (docs/vault-and-aws.md, "The login"). */
export interface IamLoginBody {
  role: string;
  iam_http_request_method: 'POST';
  iam_request_url: string;
  iam_request_body: string;
  iam_request_headers: string;
}

export const STS_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const CONTENT_TYPE = 'application/x-www-form-urlencoded; charset=utf-8';
const SERVER_ID_HEADER = 'X-Vault-AWS-IAM-Server-ID';

/** Canonical casing for the headers we send, so Vault's canonicalisation leaves them as they are. */
const CANONICAL: Record<string, string> = {
  host: 'Host',
  'content-type': 'Content-Type',
  'x-amz-date': 'X-Amz-Date',
  'x-amz-security-token': 'X-Amz-Security-Token',
  'x-vault-aws-iam-server-id': SERVER_ID_HEADER,
  authorization: 'Authorization',
};

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/**
 * Signs sts:GetCallerIdentity with the given credentials and wraps it as Vault's login body. Sign right
 * before each login: STS refuses signatures older than 15 minutes, so this result must never be cached.
 */
export async function buildIamLoginBody(input: IamLoginInput): Promise<IamLoginBody> {
  const url = new URL(stsEndpointFor(input.region));
  const headers: Record<string, string> = {
    // signature-v4 signs whatever Host we give it and adds none itself; STS rejects an unsigned host.
    host: url.host,
    'content-type': CONTENT_TYPE,
  };
  if (input.iamServerId !== undefined) headers['x-vault-aws-iam-server-id'] = input.iamServerId;

  const { accessKeyId, secretAccessKey, sessionToken } = input.credentials;
  const signer = new SignatureV4({
    service: 'sts',
    region: input.region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    sha256: Hash.bind(null, 'sha256'),
    // Without this the signer adds X-Amz-Content-Sha256; keep the header set to exactly what docs/vault-and-aws.md lists.
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      path: '/',
      query: {},
      headers,
      body: STS_BODY,
    },
    { signingDate: input.now },
  );

  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    const canonical = CANONICAL[name.toLowerCase()];
    // Anything we did not ask for (e.g. a future X-Amz-* the signer adds) would make Vault refuse the login.
    if (canonical === undefined) throw new Error(`unexpected header from the signer: ${name}`);
    out[canonical] = [value];
  }
  return {
    role: input.role,
    iam_http_request_method: 'POST',
    iam_request_url: b64(url.toString()),
    iam_request_body: b64(STS_BODY),
    iam_request_headers: b64(JSON.stringify(out)),
  };
}
