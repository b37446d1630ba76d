/**
 * The local stand-ins' public surface: what tests, the demo and the benchmarks program against.
 * Each stand-in is a real HTTP server on 127.0.0.1 (port 0 = any free port unless given), started in-process,
 * faithful to docs/vault-and-aws.md. Implementations live beside this file (oidc-issuer.ts, sts.ts,
 * vault.ts, stack.ts).
 */

/** An OIDC issuer as EKS runs one: signs projected-ServiceAccount-token-style JWTs (RS256), serves JWKS. */
export interface OidcIssuer {
  /** e.g. http://127.0.0.1:40123 ; `iss` claim of minted tokens */
  readonly url: string;
  /** `${url}/keys` (also `/.well-known/openid-configuration` points at it) */
  readonly jwksUrl: string;
  /** A projected token: iss, sub=system:serviceaccount:<ns>:<sa>, aud (default ['sts.amazonaws.com']), iat, nbf, exp (default now+86400), kubernetes.io claim. */
  mintToken(opts: {
    namespace: string;
    serviceAccount: string;
    audience?: string[];
    expiresInSeconds?: number;
  }): Promise<string>;
  close(): Promise<void>;
}

export interface StsRole {
  /** arn:aws:iam::<acct>:role[/<path>/]<name> */
  roleArn: string;
  /** `sub` values allowed by the trust policy; '*' suffix wildcard allowed (system:serviceaccount:ns:*) */
  allowedSubjects: string[];
  /** allowed `aud` values; default ['sts.amazonaws.com'] */
  audiences?: string[];
}

export interface IssuedCredentials {
  accessKeyId: string; // ASIA…
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  assumedRoleArn: string; // arn:aws:sts::<acct>:assumed-role/<role>/<session>
  roleId: string; // AROA… (UserId is `${roleId}:${session}`)
}

/** AWS STS: AssumeRoleWithWebIdentity (checks the JWT against the issuer's JWKS) and GetCallerIdentity (recomputes SigV4). */
export interface FakeSts {
  /** http://127.0.0.1:<port> — set as AWS_ENDPOINT_URL_STS for the sidecar, and as Vault's sts_endpoint */
  readonly url: string;
  addRole(role: StsRole): void;
  /** Credentials minted without web identity (for Pod Identity stand-in and direct tests). */
  issueCredentials(roleArn: string, sessionName: string, ttlSeconds?: number): IssuedCredentials;
  /** Every request received, in order (Action, whether the signature verified, the error code if any). */
  readonly calls: ReadonlyArray<{ action: string; ok: boolean; code?: string; region?: string; host?: string }>;
  /** Max signature age; default 15 minutes. Clock skew tests can move `now`. */
  now: () => Date;
  close(): Promise<void>;
}

/** EKS Pod Identity agent stand-in: GET with Authorization: <token file contents> → container credentials JSON. */
export interface FakePodIdentityAgent {
  /** full URI for AWS_CONTAINER_CREDENTIALS_FULL_URI, e.g. http://127.0.0.1:<port>/v1/credentials */
  readonly url: string;
  readonly authorizationToken: string;
  close(): Promise<void>;
}

export interface VaultRoleConfig {
  auth_type?: 'iam' | 'ec2';
  bound_iam_principal_arn?: string[];
  token_policies?: string[];
  token_ttl?: number; // seconds
  token_max_ttl?: number; // seconds
  resolve_aws_unique_ids?: boolean;
}

export interface VaultPolicy {
  /** path glob (Vault syntax: trailing * prefix, + segment) → capabilities */
  [pathGlob: string]: Array<'read' | 'list' | 'create' | 'update' | 'delete' | 'deny' | 'sudo'>;
}

export interface VaultRequestRecord {
  method: string;
  path: string; // without /v1 prefix and query, e.g. "secret/data/my-app"
  status: number;
  token?: 'valid' | 'invalid' | 'none';
  namespace?: string;
  at: number;
}

/** HashiCorp Vault, the parts vault-irsa uses, following docs/vault-and-aws.md (order of checks and messages). */
export interface FakeVault {
  /** http://127.0.0.1:<port> */
  readonly addr: string;
  readonly port: number;
  readonly rootToken: string;

  // --- configuration (what `vault write ...` would do) ---
  /** auth/<mount>/config/client: iam_server_id_header_value, sts_endpoint (default: the FakeSts url given to startFakeVault) */
  configureAwsAuth(opts: {
    mount?: string;
    iamServerIdHeaderValue?: string;
    stsEndpoint?: string;
    useStsRegionFromClient?: boolean;
  }): void;
  writeRole(name: string, cfg: VaultRoleConfig, mount?: string): void;
  deleteRole(name: string, mount?: string): void;
  writePolicy(name: string, policy: VaultPolicy): void;
  /** enable a KV mount; version 1 or 2 (`secret/` v2 exists from the start, as in dev mode) */
  enableKv(mount: string, version: 1 | 2, opts?: { defaultLeaseTtlSeconds?: number }): void;
  /** KV write: v2 creates a new version; returns the version (v1: 0) */
  writeKv(mount: string, path: string, data: Record<string, unknown>): number;
  /** KV v2 soft delete of the latest version */
  deleteKvLatest(mount: string, path: string): void;
  /** A dynamic-secret mount (database-like): GET <mount>/creds/<role> mints fresh credentials with a lease. */
  enableDynamic(
    mount: string,
    role: string,
    opts: { ttlSeconds: number; maxTtlSeconds: number; renewable?: boolean },
  ): void;

  // --- faults ---
  /** close the listener (connections refused) / reopen it on the same port */
  stop(): Promise<void>;
  start(): Promise<void>;
  seal(): void;
  unseal(): void;
  /** every token and lease expires now */
  expireAllTokens(): void;
  expireAllLeases(): void;
  /** next n requests matching `pathPrefix` answer `status` (e.g. 500, 412, 429 with Retry-After) */
  injectFault(opts: {
    pathPrefix: string;
    status: number;
    times: number;
    retryAfterSeconds?: number;
    body?: unknown;
  }): void;

  // --- observation ---
  readonly requests: ReadonlyArray<VaultRequestRecord>;
  clearRequests(): void;
  /** tokens currently valid (not expired, not revoked), with accessors and policies */
  liveTokens(): Array<{ accessor: string; policies: string[]; ttlSeconds: number; renewable: boolean }>;
  /** leases currently valid */
  liveLeases(): Array<{ leaseId: string; expiresAt: number }>;
  /** logins accepted and rejected, with the error message if rejected */
  readonly logins: ReadonlyArray<{ ok: boolean; role?: string; error?: string; arn?: string }>;

  now: () => number;
  close(): Promise<void>;
}

/** Everything wired: issuer → STS → Vault, plus a projected token file for one ServiceAccount. */
export interface Stack {
  oidc: OidcIssuer;
  sts: FakeSts;
  vault: FakeVault;
  /** a temp dir holding the projected token file; removed on close */
  dir: string;
  /** path of the projected SA token (what kubelet writes at /var/run/secrets/eks.amazonaws.com/serviceaccount/token) */
  webIdentityTokenFile: string;
  roleArn: string; // the IAM role the ServiceAccount may assume; bound to Vault role `vaultRole`
  vaultRole: string; // e.g. "app"
  namespace: string;
  serviceAccount: string;
  /** env for the sidecar process (VAULT_ADDR, VAULT_IRSA_*, AWS_* incl. AWS_ENDPOINT_URL_STS, token file in `dir`) */
  sidecarEnv(overrides?: Record<string, string | undefined>): Record<string, string>;
  close(): Promise<void>;
}

export interface StackOptions {
  namespace?: string; // default "demo"
  serviceAccount?: string; // default "app"
  vaultRole?: string; // default "app"
  iamServerIdHeaderValue?: string; // default "vault.example.com" (set on both Vault and the sidecar env)
  tokenTtlSeconds?: number; // Vault token TTL for the role; default 3600
  tokenMaxTtlSeconds?: number; // default 86400
  vaultPort?: number;
}
