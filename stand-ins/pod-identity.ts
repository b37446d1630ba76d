/**
 * What kubelet and the webhook would hand the sidecar in an EKS pod, laid out on this machine: a projected
 * ServiceAccount token file (minted by the test OIDC issuer) and the sidecar's environment.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OidcIssuer } from './types.js';

export const NAMESPACE = 'demo';
export const SERVICE_ACCOUNT = 'app';
export const VAULT_ROLE = 'app';
export const SERVER_ID = 'vault.example.com';

export interface PodIdentity {
  dir: string;
  webIdentityTokenFile: string;
  requestTokenFile: string;
  close(): Promise<void>;
}

export async function writePodIdentity(oidc: OidcIssuer): Promise<PodIdentity> {
  const dir = await mkdtemp(join(tmpdir(), 'vault-irsa-real-'));
  const webIdentityTokenFile = join(dir, 'web-identity-token');
  await writeFile(
    webIdentityTokenFile,
    await oidc.mintToken({ namespace: NAMESPACE, serviceAccount: SERVICE_ACCOUNT }),
    { mode: 0o600 },
  );
  return {
    dir,
    webIdentityTokenFile,
    requestTokenFile: join(dir, 'token'),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface SidecarEnvInput {
  vaultAddr: string;
  roleArn: string;
  /** where AssumeRoleWithWebIdentity goes (the STS stand-in, or LocalStack) */
  stsEndpointUrl: string;
  identity: PodIdentity;
  secrets: Record<string, string>;
  refresh?: string;
}

/** The env the webhook would write for the IRSA case (docs/configuration.md), with loopback listeners. */
export function sidecarEnvFor(i: SidecarEnvInput): Record<string, string> {
  return {
    VAULT_ADDR: i.vaultAddr,
    VAULT_IRSA_ROLE: VAULT_ROLE,
    VAULT_IRSA_IAM_SERVER_ID: SERVER_ID,
    // us-east-1 signs for the global https://sts.amazonaws.com/, which a Vault with default settings expects
    VAULT_IRSA_STS_REGION: 'us-east-1',
    VAULT_IRSA_SECRETS: JSON.stringify(i.secrets),
    VAULT_IRSA_TOKEN_FILE: i.identity.requestTokenFile,
    VAULT_IRSA_REFRESH: i.refresh ?? '1s',
    AWS_ROLE_ARN: i.roleArn,
    AWS_WEB_IDENTITY_TOKEN_FILE: i.identity.webIdentityTokenFile,
    AWS_ROLE_SESSION_NAME: 'vault-irsa-real',
    AWS_ENDPOINT_URL_STS: i.stsEndpointUrl,
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** A counter or gauge from the sidecar's /metrics; 0 when the series does not exist yet. */
export async function metric(healthUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${healthUrl}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = m[2] ?? '';
    if (want.every((w) => got.includes(w))) total += Number(m[3]);
  }
  return total;
}
