import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromTokenFile } from '@aws-sdk/credential-providers';
import { startOidcIssuer, type OidcIssuerExt } from '../../../stand-ins/oidc-issuer.js';
import { startFakeSts, type FakeStsExt } from '../../../stand-ins/sts.js';
import { startFakePodIdentityAgent } from '../../support/pod-identity-agent.js';
import { signGetCallerIdentity } from './login-signer.js';

const ROLE = 'arn:aws:iam::111122223333:role/app-vault';

async function awiwi(sts: FakeStsExt, token: string, roleArn = ROLE, method: 'POST' | 'GET' = 'POST') {
  const params = new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: roleArn,
    RoleSessionName: 'sess1',
    WebIdentityToken: token,
  });
  const res =
    method === 'POST'
      ? await fetch(`${sts.url}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: params.toString(),
          signal: AbortSignal.timeout(10000),
        })
      : await fetch(`${sts.url}/?${params}`, { signal: AbortSignal.timeout(10000) });
  return { status: res.status, ct: res.headers.get('content-type'), text: await res.text() };
}

describe('fake STS', () => {
  let issuer: OidcIssuerExt;
  let sts: FakeStsExt;
  beforeAll(async () => {
    issuer = await startOidcIssuer();
    sts = await startFakeSts({ issuer });
    sts.addRole({ roleArn: ROLE, allowedSubjects: ['system:serviceaccount:demo:app'] });
  });
  afterAll(async () => {
    await sts.close();
    await issuer.close();
  });

  it('issuer serves discovery and JWKS', async () => {
    const d = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(d).toMatchObject({ issuer: issuer.url, jwks_uri: issuer.jwksUrl });
    const k = (await (await fetch(issuer.jwksUrl)).json()) as { keys: Array<{ kty: string; alg: string }> };
    expect(k.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
  });

  it('AssumeRoleWithWebIdentity returns AWS-shaped XML (POST and GET)', async () => {
    const token = await issuer.mintToken({ namespace: 'demo', serviceAccount: 'app' });
    for (const m of ['POST', 'GET'] as const) {
      const r = await awiwi(sts, token, ROLE, m);
      expect(r.status).toBe(200);
      expect(r.ct).toBe('text/xml');
      expect(r.text).toMatch(/<AssumeRoleWithWebIdentityResult>/);
      expect(r.text).toMatch(/<AccessKeyId>ASIA[A-Z2-7]{16}<\/AccessKeyId>/);
      expect(r.text).toContain('<Arn>arn:aws:sts::111122223333:assumed-role/app-vault/sess1</Arn>');
      expect(r.text).toContain(
        '<SubjectFromWebIdentityToken>system:serviceaccount:demo:app</SubjectFromWebIdentityToken>',
      );
      expect(r.text).toContain('<Audience>sts.amazonaws.com</Audience>');
    }
  });

  it.each([
    [
      'foreign key',
      async (i: OidcIssuerExt) =>
        i.signRaw(
          {
            iss: i.url,
            sub: 'system:serviceaccount:demo:app',
            aud: 'sts.amazonaws.com',
            exp: Math.floor(Date.now() / 1000) + 600,
          },
          { foreignKey: true },
        ),
      400,
      'InvalidIdentityToken',
    ],
    ['garbage', async () => 'not.a.jwt', 400, 'InvalidIdentityToken'],
    [
      'wrong iss',
      async (i: OidcIssuerExt) =>
        i.signRaw({
          iss: 'https://other',
          sub: 'system:serviceaccount:demo:app',
          aud: 'sts.amazonaws.com',
          exp: Math.floor(Date.now() / 1000) + 600,
        }),
      400,
      'InvalidIdentityToken',
    ],
    [
      'wrong aud',
      async (i: OidcIssuerExt) => i.mintToken({ namespace: 'demo', serviceAccount: 'app', audience: ['vault'] }),
      400,
      'InvalidIdentityToken',
    ],
    [
      'expired',
      async (i: OidcIssuerExt) => i.mintToken({ namespace: 'demo', serviceAccount: 'app', expiresInSeconds: -10 }),
      400,
      'ExpiredTokenException',
    ],
    [
      'untrusted sub',
      async (i: OidcIssuerExt) => i.mintToken({ namespace: 'other', serviceAccount: 'app' }),
      403,
      'AccessDenied',
    ],
  ])('rejects a bad web identity token: %s', async (_name, make, status, code) => {
    const r = await awiwi(sts, await make(issuer));
    expect(r.status).toBe(status);
    expect(r.ct).toBe('text/xml');
    expect(r.text).toContain(`<Code>${code}</Code>`);
    expect(r.text).toMatch(/^<ErrorResponse/);
  });

  it('rejects an unknown role as AccessDenied', async () => {
    const r = await awiwi(
      sts,
      await issuer.mintToken({ namespace: 'demo', serviceAccount: 'app' }),
      'arn:aws:iam::111122223333:role/nope',
    );
    expect(r.status).toBe(403);
  });

  it('works with the AWS SDK fromTokenFile through AWS_ENDPOINT_URL_STS-style endpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sts-test-'));
    try {
      const file = join(dir, 'token');
      await writeFile(file, await issuer.mintToken({ namespace: 'demo', serviceAccount: 'app' }), { mode: 0o600 });
      const provider = fromTokenFile({
        webIdentityTokenFile: file,
        roleArn: ROLE,
        roleSessionName: 'sdk',
        clientConfig: { region: 'us-east-1', endpoint: sts.url },
      });
      const c = await provider();
      expect(c.accessKeyId).toMatch(/^ASIA/);
      expect(c.sessionToken).toBeTruthy();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  async function gci(signed: Awaited<ReturnType<typeof signGetCallerIdentity>>, hostHeader: string, path = '/') {
    // node's fetch won't let us set Host, so speak HTTP/1.1 through node:http
    const { request } = await import('node:http');
    const u = new URL(sts.url);
    return new Promise<{ status: number; ct: string | undefined; text: string }>((resolve, reject) => {
      const req = request(
        { host: u.hostname, port: u.port, method: 'POST', path, headers: { ...signed.headers, host: hostHeader } },
        (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ct: res.headers['content-type'], text: t }));
        },
      );
      req.on('error', reject);
      req.end(signed.body);
    });
  }

  it('GetCallerIdentity verifies the signature and models the served region', async () => {
    const creds = sts.issueCredentials(ROLE, 'direct');
    const g = await signGetCallerIdentity(creds);
    const ok = await gci(g, 'sts.amazonaws.com', '//');
    expect(ok.status).toBe(200);
    expect(ok.ct).toBe('text/xml');
    expect(ok.text).toContain('<Arn>arn:aws:sts::111122223333:assumed-role/app-vault/direct</Arn>');
    expect(ok.text).toContain(`<UserId>${creds.roleId}:direct</UserId>`);

    const west = await signGetCallerIdentity(creds, { region: 'us-west-2' });
    const bad = await gci(west, 'sts.amazonaws.com');
    expect(bad.status).toBe(403);
    expect(bad.text).toMatch(/Credential should be scoped to a valid region/);
    expect((await gci(west, 'sts.us-west-2.amazonaws.com')).status).toBe(200);

    const tampered = await signGetCallerIdentity({ ...creds, secretAccessKey: 'wrong' });
    const t = await gci(tampered, 'sts.amazonaws.com');
    expect(t.status).toBe(403);
    expect(t.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    const unknown = await gci(
      await signGetCallerIdentity({ ...creds, accessKeyId: 'ASIAUNKNOWNUNKNOWN12' }),
      'sts.amazonaws.com',
    );
    expect(unknown.text).toContain('<Code>InvalidClientTokenId</Code>');
    const old = await gci(
      await signGetCallerIdentity(creds, { signingDate: new Date(Date.now() - 20 * 60_000) }),
      'sts.amazonaws.com',
    );
    expect(old.status).toBe(403);
    expect(old.text).toMatch(/Signature expired/);
    expect(sts.calls.some((c) => c.action === 'GetCallerIdentity' && c.ok && c.path === '//')).toBe(true);
  });

  it('pod identity agent checks Authorization and returns container credentials', async () => {
    const agent = await startFakePodIdentityAgent({ sts, roleArn: ROLE });
    try {
      expect((await fetch(agent.url)).status).toBe(401);
      expect((await fetch(agent.url, { headers: { authorization: 'wrong' } })).status).toBe(403);
      const r = await fetch(agent.url, { headers: { authorization: agent.authorizationToken } });
      const j = (await r.json()) as Record<string, string>;
      expect(j).toMatchObject({ AccessKeyId: expect.stringMatching(/^ASIA/), AccountId: '111122223333' });
      expect(j.Token).toBeTruthy();
      expect(new Date(j.Expiration!).getTime()).toBeGreaterThan(Date.now());
    } finally {
      await agent.close();
    }
  });
});
