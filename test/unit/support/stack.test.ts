import { readFile, stat } from 'node:fs/promises';
import { startStack, STACK_SEED, type StackExt } from '../../../stand-ins/stack.js';
import { loginPayload, signGetCallerIdentity, vaultCall } from './login-signer.js';

const call = vaultCall;

describe('startStack', () => {
  let s: StackExt;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(async () => {
    await s.close();
  });

  it('writes a 0600 projected token and a complete sidecar env', async () => {
    const st = await stat(s.webIdentityTokenFile);
    expect(st.mode & 0o777).toBe(0o600);
    expect((await readFile(s.webIdentityTokenFile, 'utf8')).split('.')).toHaveLength(3);
    const env = s.sidecarEnv({ VAULT_IRSA_SECRETS: '{"db":"secret/my-app"}', AWS_REGION: undefined });
    expect(env).toMatchObject({
      VAULT_ADDR: s.vault.addr,
      VAULT_IRSA_ROLE: 'app',
      VAULT_IRSA_IAM_SERVER_ID: 'vault.example.com',
      VAULT_IRSA_STS_REGION: 'us-east-1',
      AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/app-vault',
      AWS_ENDPOINT_URL_STS: s.sts.url,
      VAULT_IRSA_SECRETS: '{"db":"secret/my-app"}',
    });
    expect(env.AWS_REGION).toBeUndefined();
    expect(env.VAULT_IRSA_LISTEN).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(env.VAULT_IRSA_HEALTH_LISTEN).not.toBe(env.VAULT_IRSA_LISTEN);
  });

  it('logs in end to end (web identity → STS → signed GetCallerIdentity → Vault) and reads the seed', async () => {
    const jwt = await readFile(s.webIdentityTokenFile, 'utf8');
    const form = new URLSearchParams({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: s.roleArn,
      RoleSessionName: 'x1',
      WebIdentityToken: jwt,
    });
    const xml = await (
      await fetch(s.sts.url, {
        method: 'POST',
        body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
    ).text();
    const pick = (t: string) => new RegExp(`<${t}>([^<]+)</${t}>`).exec(xml)![1]!;
    const creds = {
      accessKeyId: pick('AccessKeyId'),
      secretAccessKey: pick('SecretAccessKey'),
      sessionToken: pick('SessionToken'),
    };
    const signed = await signGetCallerIdentity(creds, { serverId: 'vault.example.com' });
    const r = await call(s.vault.addr, 'POST', 'auth/aws/login', { body: loginPayload('app', signed) });
    expect(r.status).toBe(200);
    expect(r.json!.auth).toMatchObject({
      renewable: true,
      token_type: 'service',
      orphan: true,
      lease_duration: 3600,
      metadata: { account_id: '111122223333', auth_type: 'iam' },
    });
    expect(r.json!.auth.policies).toEqual(['default', 'vault-irsa-app']);
    const token = r.json!.auth.client_token as string;
    const kv = await call(s.vault.addr, 'GET', 'secret/data/my-app', { token });
    expect(kv.status).toBe(200);
    expect(kv.json!.data.data).toEqual(STACK_SEED);
    expect(kv.json!.data.metadata.version).toBe(1);
    const gci = s.sts.calls.find((c) => c.action === 'GetCallerIdentity');
    expect(gci).toMatchObject({ ok: true, host: 'sts.amazonaws.com', path: '//', region: 'us-east-1' });
  });
});
