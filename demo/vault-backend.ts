/**
 * The demo's identity and Vault side: the OIDC issuer and STS stand-ins, and Vault: a real `vault server -dev`
 * when a binary is found (VAULT_BIN or `vault` on PATH), else the stand-in from stand-ins/.
 * `VAULT_IRSA_DEMO_VAULT=stand-in` keeps the stand-in either way. Everything the demo does to Vault goes
 * through this interface.
 */
import { startOidcIssuer } from '../stand-ins/oidc-issuer.js';
import { STACK_ACCOUNT, STACK_SEED, startStack } from '../stand-ins/stack.js';
import { startFakeSts } from '../stand-ins/sts.js';
import type { FakeSts } from '../stand-ins/types.js';
import { detectVaultBinary, startVaultDevServer } from '../stand-ins/vault-dev-server.js';
import { configureAwsAuthAndKv, KV2_SEED } from '../stand-ins/vault-setup.js';

export interface DemoVault {
  /** what is answering as Vault, for the narration */
  label: string;
  addr: string;
  oidcUrl: string;
  stsUrl: string;
  vaultRole: string;
  roleArn: string;
  iamServerId: string;
  seed: { username: string; password: string };
  mintServiceAccountToken(o: { audience: string; expiresInSeconds: number }): Promise<string>;
  /** `vault kv put secret/my-app ...` */
  writeSecret(data: Record<string, string>): Promise<void>;
  /** connections refused from now on */
  stop(): Promise<void>;
  /** back on the same address with the same data; absent where the backend cannot */
  start?: () => Promise<void>;
  /** Vault tokens still valid; absent where the backend cannot tell */
  liveTokens?: () => number;
  /** values the demo checks never reach the sidecar's log: AWS keys issued to the pod, projected tokens */
  heldCredentials(): string[];
  close(): Promise<void>;
}

const IAM_SERVER_ID = 'vault.example.com';

export async function startDemoVault(env: NodeJS.ProcessEnv = process.env): Promise<DemoVault> {
  const found = env.VAULT_IRSA_DEMO_VAULT === 'stand-in' ? undefined : detectVaultBinary(env);
  return found?.ok ? startRealVault(found.bin, found.version) : startStandIn();
}

/** AssumeRoleWithWebIdentity mints through issueCredentials: keep what it hands the sidecar for the leak check. */
function recordIssued(sts: FakeSts, into: string[]): void {
  const issue = sts.issueCredentials.bind(sts);
  sts.issueCredentials = (...args: Parameters<FakeSts['issueCredentials']>) => {
    const c = issue(...args);
    into.push(c.secretAccessKey, c.sessionToken);
    return c;
  };
}

async function startStandIn(): Promise<DemoVault> {
  const stack = await startStack({
    namespace: 'demo',
    serviceAccount: 'app',
    vaultRole: 'app',
    iamServerIdHeaderValue: IAM_SERVER_ID,
  });
  const minted: string[] = [];
  const issued: string[] = [];
  recordIssued(stack.sts, issued);
  return {
    label: 'stand-in: AWS auth checked as Vault checks it, forwarded to the STS stand-in',
    addr: stack.vault.addr,
    oidcUrl: stack.oidc.url,
    stsUrl: stack.sts.url,
    vaultRole: stack.vaultRole,
    roleArn: stack.roleArn,
    iamServerId: IAM_SERVER_ID,
    seed: { ...STACK_SEED },
    async mintServiceAccountToken({ audience, expiresInSeconds }) {
      const jwt = await stack.oidc.mintToken({
        namespace: stack.namespace,
        serviceAccount: stack.serviceAccount,
        audience: [audience],
        expiresInSeconds,
      });
      minted.push(jwt);
      return jwt;
    },
    async writeSecret(data) {
      stack.vault.writeKv('secret', 'my-app', data);
    },
    stop: () => stack.vault.stop(),
    start: () => stack.vault.start(),
    liveTokens: () => stack.vault.liveTokens().length,
    heldCredentials: () => [...minted, ...issued],
    close: () => stack.close(),
  };
}

/** A real Vault dev server configured as an operator would (AWS auth forwarding to the STS stand-in, KV v2). */
async function startRealVault(bin: string, version: string): Promise<DemoVault> {
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const oidc = await startOidcIssuer();
    cleanups.push(() => oidc.close());
    const sts = await startFakeSts({ issuer: oidc, account: STACK_ACCOUNT });
    cleanups.push(() => sts.close());
    // no role path: with resolve_aws_unique_ids=false Vault compares the canonical ARN
    const roleArn = `arn:aws:iam::${STACK_ACCOUNT}:role/app-vault`;
    sts.addRole({ roleArn, allowedSubjects: ['system:serviceaccount:demo:app'] });
    const vault = await startVaultDevServer(bin);
    let stopped = false;
    cleanups.push(() => (stopped ? Promise.resolve() : vault.stop()));
    await configureAwsAuthAndKv(vault.admin, { stsEndpoint: sts.url, roleArn, tokenTtl: '1h', tokenMaxTtl: '24h' });
    const minted: string[] = [];
    const issued: string[] = [];
    recordIssued(sts, issued);
    return {
      label: `${version} (vault server -dev), AWS auth forwarding logins to the STS stand-in`,
      addr: vault.addr,
      oidcUrl: oidc.url,
      stsUrl: sts.url,
      vaultRole: 'app',
      roleArn,
      iamServerId: IAM_SERVER_ID,
      seed: { ...KV2_SEED },
      async mintServiceAccountToken({ audience, expiresInSeconds }) {
        const jwt = await oidc.mintToken({
          namespace: 'demo',
          serviceAccount: 'app',
          audience: [audience],
          expiresInSeconds,
        });
        minted.push(jwt);
        return jwt;
      },
      async writeSecret(data) {
        await vault.admin.putKv2('secret', 'my-app', data);
      },
      // a dev server keeps everything in memory: once stopped it cannot come back with the same data
      async stop() {
        stopped = true;
        await vault.stop();
      },
      heldCredentials: () => [...minted, ...issued],
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
