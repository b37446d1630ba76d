/** Issuer → STS → Vault wired for one ServiceAccount, as an EKS cluster with Vault's AWS auth would be. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack, StackOptions } from './types.js';
import { startOidcIssuer, type OidcIssuerExt } from './oidc-issuer.js';
import { startFakeSts, type FakeStsExt } from './sts.js';
import { startFakeVault, type FakeVaultExt } from './vault.js';
import { freePorts } from './ports.js';

export const STACK_ACCOUNT = '111122223333';
export const STACK_POLICY = 'vault-irsa-app';
export const STACK_SEED = { username: 'app-user', password: 's3cr3t-from-vault' } as const;

export interface StackExt extends Stack {
  oidc: OidcIssuerExt;
  sts: FakeStsExt;
  vault: FakeVaultExt;
  /** mint a fresh projected token and write it to webIdentityTokenFile (as kubelet rotation does) */
  rotateWebIdentityToken(opts?: { expiresInSeconds?: number; audience?: string[] }): Promise<string>;
  /** where sidecarEnv() points VAULT_IRSA_TOKEN_FILE */
  requestTokenFile: string;
}

export async function startStack(opts: StackOptions = {}): Promise<StackExt> {
  const namespace = opts.namespace ?? 'demo';
  const serviceAccount = opts.serviceAccount ?? 'app';
  const vaultRole = opts.vaultRole ?? 'app';
  const serverId = opts.iamServerIdHeaderValue ?? 'vault.example.com';
  const roleArn = `arn:aws:iam::${STACK_ACCOUNT}:role/${serviceAccount}-vault`;

  const oidc = await startOidcIssuer();
  const cleanups: Array<() => Promise<void>> = [() => oidc.close()];
  try {
    const sts = await startFakeSts({ issuer: oidc, account: STACK_ACCOUNT });
    cleanups.push(() => sts.close());
    sts.addRole({ roleArn, allowedSubjects: [`system:serviceaccount:${namespace}:${serviceAccount}`] });

    const vault = await startFakeVault({ sts, ...(opts.vaultPort ? { port: opts.vaultPort } : {}) });
    cleanups.push(() => vault.close());
    vault.configureAwsAuth({ iamServerIdHeaderValue: serverId, stsEndpoint: sts.url });
    vault.writePolicy(STACK_POLICY, {
      'secret/data/*': ['read'],
      'kv1/*': ['read'],
      'database/creds/*': ['read'],
      'sys/internal/ui/mounts/*': ['read'],
    });
    vault.writeRole(vaultRole, {
      auth_type: 'iam',
      bound_iam_principal_arn: [roleArn],
      token_policies: [STACK_POLICY],
      token_ttl: opts.tokenTtlSeconds ?? 3600,
      token_max_ttl: opts.tokenMaxTtlSeconds ?? 86400,
      resolve_aws_unique_ids: true,
    });
    vault.enableKv('kv1', 1);
    vault.enableDynamic('database', 'app', { ttlSeconds: 3600, maxTtlSeconds: 86400, renewable: true });
    vault.writeKv('secret', 'my-app', { ...STACK_SEED });
    vault.writeKv('kv1', 'app', { api_key: 'kv1-api-key' });

    const dir = await mkdtemp(join(tmpdir(), 'vault-irsa-stack-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const webIdentityTokenFile = join(dir, 'web-identity-token');
    const requestTokenFile = join(dir, 'token');
    const rotateWebIdentityToken = async (o: { expiresInSeconds?: number; audience?: string[] } = {}) => {
      const jwt = await oidc.mintToken({ namespace, serviceAccount, ...o });
      await writeFile(webIdentityTokenFile, jwt, { mode: 0o600 });
      return jwt;
    };
    await rotateWebIdentityToken();
    const [listenPort, healthPort] = await freePorts(2);

    return {
      oidc,
      sts,
      vault,
      dir,
      webIdentityTokenFile,
      requestTokenFile,
      roleArn,
      vaultRole,
      namespace,
      serviceAccount,
      rotateWebIdentityToken,
      sidecarEnv(overrides = {}) {
        const env: Record<string, string | undefined> = {
          VAULT_ADDR: vault.addr,
          VAULT_IRSA_ROLE: vaultRole,
          VAULT_IRSA_IAM_SERVER_ID: serverId,
          VAULT_IRSA_STS_REGION: 'us-east-1',
          VAULT_IRSA_TOKEN_FILE: requestTokenFile,
          VAULT_IRSA_LISTEN: `127.0.0.1:${listenPort}`,
          VAULT_IRSA_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
          AWS_ROLE_ARN: roleArn,
          AWS_WEB_IDENTITY_TOKEN_FILE: webIdentityTokenFile,
          AWS_ROLE_SESSION_NAME: `${serviceAccount}-sidecar`,
          AWS_ENDPOINT_URL_STS: sts.url,
          AWS_REGION: 'us-east-1',
          AWS_EC2_METADATA_DISABLED: 'true',
          ...overrides,
        };
        const out: Record<string, string> = {};
        for (const [k, val] of Object.entries(env)) if (val !== undefined) out[k] = val;
        return out;
      },
      async close() {
        for (const c of cleanups.reverse()) await c().catch(() => undefined);
      },
    };
  } catch (e) {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    throw e;
  }
}
