/**
 * The demo's identity and Vault side: the OIDC issuer and STS stand-ins, and Vault (the stand-in from
 * test/support). Everything the demo does to Vault goes through this interface.
 */
import { STACK_SEED, startStack } from '../test/support/stack.js';

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

export async function startDemoVault(): Promise<DemoVault> {
  const stack = await startStack({ namespace: 'demo', serviceAccount: 'app', vaultRole: 'app', iamServerIdHeaderValue: IAM_SERVER_ID });
  const minted: string[] = [];
  const issued: string[] = [];
  // AssumeRoleWithWebIdentity mints through issueCredentials: keep what it hands the sidecar for the leak check
  const issue = stack.sts.issueCredentials.bind(stack.sts);
  stack.sts.issueCredentials = (...args: Parameters<typeof issue>) => {
    const c = issue(...args);
    issued.push(c.secretAccessKey, c.sessionToken);
    return c;
  };
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
      const jwt = await stack.oidc.mintToken({ namespace: stack.namespace, serviceAccount: stack.serviceAccount, audience: [audience], expiresInSeconds });
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
