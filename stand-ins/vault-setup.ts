/**
 * The Vault side of an EKS + Vault installation, written through the HTTP API: AWS auth (auth_type=iam)
 * bound to one IAM role, a policy, KV v1 and v2 data. The same steps an operator's `vault write`s take.
 */
import { SERVER_ID, VAULT_ROLE } from './pod-identity.js';
import type { VaultAdmin } from './vault-admin.js';

export const POLICY = 'vault-irsa-app';
export const KV2_SEED = { username: 'app-user', password: 'real-vault-kv2-value' } as const;
export const KV1_SEED = { api_key: 'real-vault-kv1-value' } as const;

export interface AwsAuthSetup {
  /** where Vault forwards the signed GetCallerIdentity */
  stsEndpoint: string;
  /** only for the engines that call IAM (unused by logins with resolve_aws_unique_ids=false) */
  iamEndpoint?: string;
  /** Vault's own AWS keys; a login needs none, LocalStack's IAM wants some */
  accessKey?: string;
  secretKey?: string;
  /** arn:aws:iam::<acct>:role/<name>, without a role path: with resolve_aws_unique_ids=false Vault compares the canonical ARN */
  roleArn: string;
  tokenTtl: string;
  tokenMaxTtl: string;
  /** extra HCL appended to the app's policy */
  extraPolicy?: string;
}

export async function configureAwsAuthAndKv(admin: VaultAdmin, s: AwsAuthSetup): Promise<void> {
  await admin.write('sys/auth/aws', { type: 'aws' });
  await admin.write('auth/aws/config/client', {
    sts_endpoint: s.stsEndpoint,
    iam_server_id_header_value: SERVER_ID,
    ...(s.iamEndpoint ? { iam_endpoint: s.iamEndpoint } : {}),
    ...(s.accessKey ? { access_key: s.accessKey, secret_key: s.secretKey ?? '' } : {}),
  });
  // sys/internal/ui/mounts/<path> needs no rule: Vault answers it for any path the token has a capability on.
  await admin.writePolicy(
    POLICY,
    [
      'path "secret/data/*" { capabilities = ["read"] }',
      'path "kv1/*" { capabilities = ["read"] }',
      s.extraPolicy ?? '',
    ].join('\n'),
  );
  await admin.write(`auth/aws/role/${VAULT_ROLE}`, {
    auth_type: 'iam',
    bound_iam_principal_arn: [s.roleArn],
    // false: Vault binds the ARN itself and never calls iam:GetRole, so a login needs nothing but STS
    resolve_aws_unique_ids: false,
    token_policies: [POLICY],
    token_ttl: s.tokenTtl,
    token_max_ttl: s.tokenMaxTtl,
  });
  // dev mode mounts KV v2 at secret/; KV v1 needs its own mount
  await admin.enableKv('kv1', 1);
  await admin.putKv2('secret', 'my-app', { ...KV2_SEED });
  await admin.write('kv1/app', { ...KV1_SEED });
}

/**
 * A dynamic, leased and renewable secret that needs no database: Vault's aws secrets engine minting IAM users
 * (credential_type iam_user) in LocalStack's IAM. Its leases follow aws/config/lease, kept short to see renewals.
 */
export async function enableAwsSecretsEngine(admin: VaultAdmin, awsEndpoint: string, lease = '15s'): Promise<void> {
  await admin.write('sys/mounts/aws', { type: 'aws' });
  await admin.write('aws/config/root', {
    access_key: 'test',
    secret_key: 'test',
    region: 'us-east-1',
    iam_endpoint: awsEndpoint,
    sts_endpoint: awsEndpoint,
  });
  await admin.write('aws/config/lease', { lease, lease_max: '10m' });
  await admin.write(`aws/roles/${VAULT_ROLE}`, {
    credential_type: 'iam_user',
    policy_document: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' }],
    }),
  });
}
