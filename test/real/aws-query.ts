/**
 * A signed AWS Query-protocol call (IAM, STS) against LocalStack, without an SDK client the project does not
 * depend on. LocalStack ignores the signature but routes by its credential scope, so the call is signed.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export const LOCALSTACK_KEYS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

const VERSIONS = { iam: '2010-05-08', sts: '2011-06-15' } as const;

export async function awsQuery(
  endpoint: string,
  service: keyof typeof VERSIONS,
  action: string,
  params: Record<string, string> = {},
): Promise<string> {
  const url = new URL(endpoint);
  const body = new URLSearchParams({ Action: action, Version: VERSIONS[service], ...params }).toString();
  const signer = new SignatureV4({
    service,
    region: 'us-east-1',
    credentials: LOCALSTACK_KEYS,
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  // fetch sets Host itself, from the same URL, so the signed value still matches
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== 'host'));
  const res = await fetch(`${url.origin}/`, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${service}:${action} at ${url.origin}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return text;
}

/** The text of the first <tag> element of an AWS XML answer. */
export function xmlField(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

/** iam:CreateRole with a web-identity trust policy; returns the role's ARN as IAM reports it. */
export async function createWebIdentityRole(endpoint: string, roleName: string, subject: string): Promise<string> {
  const trust = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: {
          Federated: 'arn:aws:iam::000000000000:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/VAULTIRSA',
        },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { 'oidc.eks.us-east-1.amazonaws.com/id/VAULTIRSA:sub': subject } },
      },
    ],
  };
  const xml = await awsQuery(endpoint, 'iam', 'CreateRole', {
    RoleName: roleName,
    AssumeRolePolicyDocument: JSON.stringify(trust),
  });
  const arn = xmlField(xml, 'Arn');
  if (!arn) throw new Error(`iam:CreateRole answered without an Arn: ${xml.slice(0, 300)}`);
  return arn;
}
