import { writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { join } from 'node:path';
import { startStack, STACK_SEED, type StackExt } from '../../../stand-ins/stack.js';
import { startFakePodIdentityAgent, type FakePodIdentityAgentExt } from '../../support/pod-identity-agent.js';
import { makeTestCert } from '../../../stand-ins/tls.js';
import { cleanup, startSidecar, waitFor, waitReady, type RunningSidecar } from './helpers.js';

let stack: StackExt | undefined;
let sidecar: RunningSidecar | undefined;
let agent: FakePodIdentityAgentExt | undefined;
let proxy: Server | undefined;

afterEach(async () => {
  await cleanup(sidecar);
  sidecar = undefined;
  await agent?.close();
  agent = undefined;
  if (proxy) await new Promise<void>((r) => proxy?.close(() => r()));
  proxy?.closeAllConnections();
  proxy = undefined;
  await stack?.close();
  stack = undefined;
});

const secrets = JSON.stringify({ app: 'secret/my-app' });

describe('identities, regions and TLS', () => {
  it('EKS Pod Identity: credentials from the agent with the token file, no web identity', async () => {
    stack = await startStack();
    agent = await startFakePodIdentityAgent({ sts: stack.sts, roleArn: stack.roleArn });
    const tokenFile = join(stack.dir, 'eks-pod-identity-token');
    await writeFile(tokenFile, agent.authorizationToken);
    sidecar = await startSidecar(
      stack.sidecarEnv({
        VAULT_IRSA_SECRETS: secrets,
        AWS_ROLE_ARN: undefined,
        AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
        AWS_ROLE_SESSION_NAME: undefined,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      }),
    );
    await waitReady(sidecar);
    expect((await sidecar.get('/v1/secrets/app/password')).body).toBe(STACK_SEED.password);
    expect(agent.calls.some((c) => c.status === 200)).toBe(true);
    expect(stack.sts.calls.some((c) => c.action === 'AssumeRoleWithWebIdentity')).toBe(false);
    expect(sidecar.proc.output()).not.toContain(agent.authorizationToken);
  });

  it('a regional STS region signs for the regional endpoint Vault forwards to', async () => {
    stack = await startStack();
    stack.vault.configureAwsAuth({
      iamServerIdHeaderValue: 'vault.example.com',
      stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
    });
    sidecar = await startSidecar(stack.sidecarEnv({ VAULT_IRSA_SECRETS: secrets, VAULT_IRSA_STS_REGION: 'eu-west-1' }));
    await waitReady(sidecar);
    expect(stack.sts.calls.find((c) => c.action === 'GetCallerIdentity')).toMatchObject({
      ok: true,
      host: 'sts.eu-west-1.amazonaws.com',
      region: 'eu-west-1',
    });
  });

  it("a region that does not match Vault keeps /readyz at 503: STS's reason on loopback, a code on the pod IP", async () => {
    stack = await startStack();
    stack.vault.configureAwsAuth({
      iamServerIdHeaderValue: 'vault.example.com',
      stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
    });
    sidecar = await startSidecar(stack.sidecarEnv({ VAULT_IRSA_SECRETS: secrets, VAULT_IRSA_STS_REGION: 'us-east-1' }));
    const s = sidecar;
    const reason = await waitFor(async () => {
      const r = await fetch(`${s.api}/readyz`);
      const text = await r.text();
      return r.status === 503 && text.includes('not logged in') && /region/i.test(text) ? text : undefined;
    }, 20_000);
    expect(reason).toContain('not_ready');
    const onPodIp = await fetch(`${s.health}/readyz`);
    expect(onPodIp.status).toBe(503);
    const text = await onPodIp.text();
    expect(text).toContain('not logged in to Vault yet: vault_login_failed');
    expect(text).not.toMatch(/region|arn:|sts\.|role/i);
    expect(s.proc.output()).toContain('"event":"login_failed"');
  });

  it('a wrong IAM server ID is refused by Vault (the header is signed into the login)', async () => {
    stack = await startStack();
    sidecar = await startSidecar(
      stack.sidecarEnv({ VAULT_IRSA_SECRETS: secrets, VAULT_IRSA_IAM_SERVER_ID: 'other.example.com' }),
    );
    await waitFor(
      () => stack?.vault.logins.some((l) => !l.ok && /X-Vault-AWS-IAM-Server-ID/.test(l.error ?? '')),
      20_000,
    );
  });

  it('VAULT_CACERT: talks HTTPS to a Vault whose certificate only that CA vouches for', async () => {
    stack = await startStack();
    const cert = await makeTestCert({ dnsNames: ['localhost'], ips: ['127.0.0.1'] });
    const caFile = join(stack.dir, 'vault-ca.pem');
    await writeFile(caFile, cert.cert);
    const target = new URL(stack.vault.addr);
    proxy = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      const up = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy?.listen(0, '127.0.0.1', () => r()));
    const port = (proxy.address() as { port: number }).port;
    sidecar = await startSidecar(
      stack.sidecarEnv({ VAULT_IRSA_SECRETS: secrets, VAULT_ADDR: `https://127.0.0.1:${port}`, VAULT_CACERT: caFile }),
    );
    await waitReady(sidecar);
    expect((await sidecar.get('/v1/secrets/app/username')).body).toBe(STACK_SEED.username);
  });

  it('without the CA, the same HTTPS Vault is refused and the sidecar stays unready', async () => {
    stack = await startStack();
    const cert = await makeTestCert();
    proxy = createHttpsServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.writeHead(500).end());
    await new Promise<void>((r) => proxy?.listen(0, '127.0.0.1', () => r()));
    const port = (proxy.address() as { port: number }).port;
    sidecar = await startSidecar(
      stack.sidecarEnv({ VAULT_IRSA_SECRETS: secrets, VAULT_ADDR: `https://127.0.0.1:${port}` }),
    );
    const s = sidecar;
    await waitFor(() => /login_failed.*(CERT|SELF_SIGNED|certificate)/i.test(s.proc.output()), 20_000);
    expect((await fetch(`${s.health}/readyz`)).status).toBe(503);
  });
});
