/**
 * IRSA without the AWS SDK (sidecar/aws/sts-web-identity.ts): the endpoint and request the SDK's STS client
 * would use (checked against that client, a devDependency), the call against the STS stand-in, retries, and
 * no token in any error.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/nested-clients/sts';
import { createCredentialProvider } from '../../../sidecar/aws-credentials.js';
import { send, type HttpAnswer, type HttpCall } from '../../../sidecar/aws/http-call.js';
import {
  assumeRoleBody,
  assumeRoleEndpoint,
  assumeRoleWithWebIdentity,
  ATTEMPT_TIMEOUT_MS,
} from '../../../sidecar/aws/sts-web-identity.js';
import { PARTITIONS } from '../../../sidecar/contract/partitions.generated.js';
import { VERSION } from '../../../sidecar/version.js';
import { startOidcIssuer, type OidcIssuerExt } from '../../../stand-ins/oidc-issuer.js';
import { startFakeSts, type FakeStsExt } from '../../../stand-ins/sts.js';

const ROLE = 'arn:aws:iam::111122223333:role/app-vault';
const SUBJECT = 'system:serviceaccount:demo:app';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-sts-'));
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What the SDK's STS client sends for AssumeRoleWithWebIdentity, caught before it leaves. */
async function sdkRequest(
  region: string,
  fips: boolean,
  input: { RoleArn: string; RoleSessionName: string; WebIdentityToken: string },
) {
  let seen:
    { protocol: string; hostname: string; path: string; headers: Record<string, string>; body: string } | undefined;
  const client = new STSClient({
    region,
    useFipsEndpoint: fips,
    maxAttempts: 1,
    requestHandler: {
      handle: async (req: typeof seen) => {
        seen = req;
        throw new Error('caught');
      },
    } as never,
  });
  await client.send(new AssumeRoleWithWebIdentityCommand(input)).catch(() => undefined);
  if (seen === undefined) throw new Error('the SDK sent nothing');
  return seen;
}

/** a region of each partition, from its own regex */
const REGIONS = [
  'us-east-1',
  'eu-central-2',
  'ap-southeast-5',
  'cn-north-1',
  'cn-northwest-1',
  'us-gov-west-1',
  'us-gov-east-1',
  'eusc-de-east-1',
  'us-iso-east-1',
  'us-isob-east-1',
  'eu-isoe-west-1',
  'us-isof-south-1',
];

describe('where the call goes', () => {
  it('every partition has a region in the list (the oracle test below covers them all)', () => {
    for (const p of PARTITIONS) expect(REGIONS.some((r) => p.regionRegex.test(r))).toBe(true);
  });

  it.each(REGIONS.flatMap((r) => [[r, false] as const, [r, true] as const]))(
    '%s (FIPS %s): the endpoint of the SDK STS client',
    async (region, fips) => {
      const sdk = await sdkRequest(region, fips, { RoleArn: ROLE, RoleSessionName: 'ab', WebIdentityToken: 't' });
      const ours = assumeRoleEndpoint(region, fips ? { AWS_USE_FIPS_ENDPOINT: 'true' } : {});
      expect(ours.href).toBe(`${sdk.protocol}//${sdk.hostname}${sdk.path}`);
    },
  );

  it('is regional, us-east-1 too, whatever AWS_STS_REGIONAL_ENDPOINTS says (as the SDK v3 client)', () => {
    for (const v of [undefined, 'regional', 'legacy'])
      expect(assumeRoleEndpoint('us-east-1', { AWS_STS_REGIONAL_ENDPOINTS: v }).href).toBe(
        'https://sts.us-east-1.amazonaws.com/',
      );
  });

  it('a configured endpoint wins: AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL, unless ignored', () => {
    const env = { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:4566/', AWS_ENDPOINT_URL: 'http://127.0.0.1:9/' };
    expect(assumeRoleEndpoint('eu-west-1', env).href).toBe('http://127.0.0.1:4566/');
    expect(assumeRoleEndpoint('eu-west-1', { AWS_ENDPOINT_URL: 'https://vpce.example/' }).href).toBe(
      'https://vpce.example/',
    );
    expect(assumeRoleEndpoint('eu-west-1', { ...env, AWS_ENDPOINT_URL_STS: '' }).href).toBe('http://127.0.0.1:9/');
    expect(assumeRoleEndpoint('eu-west-1', { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).href).toBe(
      'https://sts.eu-west-1.amazonaws.com/',
    );
  });

  it.each([
    [{ AWS_USE_FIPS_ENDPOINT: 'yes' }, /AWS_USE_FIPS_ENDPOINT must be "true" or "false"/],
    [
      { AWS_USE_FIPS_ENDPOINT: 'true', AWS_ENDPOINT_URL_STS: 'http://x/' },
      /cannot be combined with AWS_ENDPOINT_URL_STS/,
    ],
    [{ AWS_USE_DUALSTACK_ENDPOINT: 'true' }, /AWS_USE_DUALSTACK_ENDPOINT=true is not supported.*AWS_ENDPOINT_URL_STS/],
    [{ AWS_ENDPOINT_URL: 'not a url' }, /AWS_ENDPOINT_URL is not a URL/],
  ])('refuses %j by name', (env, message) => {
    expect(() => assumeRoleEndpoint('us-east-1', env)).toThrow(message);
  });

  it('sends the parameters the SDK sends, for any role, session name and token', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.string({ minLength: 1, maxLength: 200 }),
        async (RoleArn, RoleSessionName, WebIdentityToken) => {
          const sdk = await sdkRequest('eu-west-1', false, { RoleArn, RoleSessionName, WebIdentityToken });
          const ours = assumeRoleBody(RoleArn, RoleSessionName, WebIdentityToken);
          expect([...new URLSearchParams(ours)]).toEqual([...new URLSearchParams(sdk.body)]);
          expect(sdk.headers['content-type']).toBe('application/x-www-form-urlencoded');
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('against the STS stand-in', () => {
  let issuer: OidcIssuerExt;
  let sts: FakeStsExt;
  let tokenFile: string;
  beforeAll(async () => {
    issuer = await startOidcIssuer();
    sts = await startFakeSts({ issuer });
    sts.addRole({ roleArn: ROLE, allowedSubjects: [SUBJECT] });
    tokenFile = join(dir, 'token');
  });
  afterAll(async () => {
    await sts.close();
    await issuer.close();
  });
  beforeEach(async () => {
    sts.clearCalls();
    await writeFile(tokenFile, await issuer.mintToken({ namespace: 'demo', serviceAccount: 'app' }));
  });

  const call = () => ({ endpoint: new URL(sts.url), roleArn: ROLE, sessionName: 'vault-irsa-test', tokenFile });

  it('assumes the role: credentials STS issued, expiring when STS says', async () => {
    const c = await createCredentialProvider(
      { kind: 'web-identity', roleArn: ROLE, tokenFile, sessionName: 'vault-irsa-test' },
      'us-east-1',
      { AWS_ENDPOINT_URL_STS: sts.url },
    )();
    expect(c.accessKeyId).toMatch(/^ASIA/);
    expect(c.secretAccessKey).toHaveLength(40);
    expect(c.sessionToken).toMatch(/^IQoJ/);
    expect(Math.abs((c.expiration?.getTime() ?? 0) - Date.now() - 3600_000)).toBeLessThan(60_000);
    expect(sts.calls).toEqual([expect.objectContaining({ action: 'AssumeRoleWithWebIdentity', ok: true })]);
    // the stand-in keeps a table of what it issued: the key is one it knows
    expect(sts.calls[0]?.method).toBe('POST');
  });

  it('reads the token file on every call (kubelet rotates it)', async () => {
    await assumeRoleWithWebIdentity(call());
    // a token for another ServiceAccount, which the role does not trust
    await writeFile(tokenFile, await issuer.mintToken({ namespace: 'demo', serviceAccount: 'other' }));
    await expect(assumeRoleWithWebIdentity(call())).rejects.toMatchObject({ awsCode: 'AccessDenied' });
    expect(sts.calls.map((c) => c.ok)).toEqual([true, false]);
  });

  it("STS's refusal keeps STS's code in the CredentialsError, and the token is nowhere in it", async () => {
    const token = await issuer.mintToken({ namespace: 'demo', serviceAccount: 'app', expiresInSeconds: -60 });
    await writeFile(tokenFile, token);
    const provider = createCredentialProvider({ kind: 'web-identity', roleArn: ROLE, tokenFile }, 'us-east-1', {
      AWS_ENDPOINT_URL_STS: sts.url,
      HOSTNAME: 'app-7d9c',
    });
    const e = (await provider().catch((x: unknown) => x)) as Error;
    expect(e.name).toBe('CredentialsError');
    expect(e.message).toMatch(
      /^could not get AWS credentials from web identity \(AWS_ROLE_ARN=arn:aws:iam::111122223333:role\/app-vault, AWS_WEB_IDENTITY_TOKEN_FILE=.*\): ExpiredTokenException: Token expired/,
    );
    expect(e.message).not.toContain(token);
    expect(e.message).not.toContain(token.split('.')[2]);
    // one attempt: a refused token is not retried
    expect(sts.calls).toHaveLength(1);
  });

  it('a garbage token is InvalidIdentityToken', async () => {
    await writeFile(tokenFile, 'not-a-jwt');
    await expect(assumeRoleWithWebIdentity(call())).rejects.toMatchObject({ awsCode: 'InvalidIdentityToken' });
  });

  it('a missing token file is an error naming the file, without STS being called', async () => {
    await expect(assumeRoleWithWebIdentity({ ...call(), tokenFile: join(dir, 'nope') })).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(sts.calls).toHaveLength(0);
  });
});

describe('retries and the secret', () => {
  const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw';
  let tokenFile: string;
  beforeAll(async () => {
    tokenFile = join(dir, 'fixed-token');
    await writeFile(tokenFile, `${TOKEN}\n`);
  });

  const xmlError = (code: string, message = 'm'): string =>
    `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error></ErrorResponse>`;
  const OK = `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`;

  /** a scripted STS: each attempt takes the next answer (or throws it) */
  function scripted(answers: Array<HttpAnswer | Error>) {
    const calls: HttpCall[] = [];
    const sleeps: number[] = [];
    return {
      calls,
      sleeps,
      deps: {
        send: async (_url: URL, c: HttpCall) => {
          calls.push(c);
          const a = answers[calls.length - 1];
          if (a === undefined) throw new Error('no more answers');
          if (a instanceof Error) throw a;
          return a;
        },
        sleep: async (ms: number) => {
          sleeps.push(ms);
        },
        random: () => 0.5,
      },
    };
  }
  const call = () => ({
    endpoint: new URL('https://sts.eu-west-1.amazonaws.com/'),
    roleArn: ROLE,
    sessionName: 'ab',
    tokenFile,
  });

  it('retries 5xx, throttling and IDPCommunicationError, three attempts in all, with growing jittered waits', async () => {
    const s = scripted([
      { status: 503, body: '' },
      { status: 400, body: xmlError('IDPCommunicationError') },
      { status: 200, body: OK },
    ]);
    await expect(assumeRoleWithWebIdentity(call(), s.deps)).resolves.toMatchObject({ accessKeyId: 'ASIAX' });
    expect(s.calls).toHaveLength(3);
    expect(s.sleeps).toEqual([100, 200]);
    const t = scripted([
      { status: 400, body: xmlError('Throttling') },
      { status: 400, body: xmlError('Throttling') },
      { status: 400, body: xmlError('Throttling', 'Rate exceeded') },
      { status: 200, body: OK },
    ]);
    await expect(assumeRoleWithWebIdentity(call(), t.deps)).rejects.toMatchObject({
      awsCode: 'Throttling',
      message: 'Rate exceeded',
    });
    expect(t.calls).toHaveLength(3);
    expect(t.sleeps).toEqual([500, 1000]);
  });

  it('retries network errors, not a refusal', async () => {
    const refused = Object.assign(new Error('sts: ECONNREFUSED'), { errno: 'ECONNREFUSED' });
    const s = scripted([refused, { status: 200, body: OK }]);
    await expect(assumeRoleWithWebIdentity(call(), s.deps)).resolves.toMatchObject({ accessKeyId: 'ASIAX' });
    const r = scripted([
      { status: 400, body: xmlError('InvalidIdentityToken') },
      { status: 200, body: OK },
    ]);
    await expect(assumeRoleWithWebIdentity(call(), r.deps)).rejects.toMatchObject({ awsCode: 'InvalidIdentityToken' });
    expect(r.calls).toHaveLength(1);
  });

  it('sends the token from the file (trimmed), with a per-attempt deadline and a size cap', async () => {
    const s = scripted([{ status: 200, body: OK }]);
    await assumeRoleWithWebIdentity(call(), s.deps);
    expect(new URLSearchParams(s.calls[0]?.body).get('WebIdentityToken')).toBe(TOKEN);
    expect(s.calls[0]).toMatchObject({ method: 'POST', timeoutMs: ATTEMPT_TIMEOUT_MS });
    expect(s.calls[0]?.maxBytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('a token echoed in a message longer than the message limit leaves no piece of itself', async () => {
    const long = `eyJhbGciOiJFUzI1NiJ9.${'p'.repeat(1100)}.${'s'.repeat(86)}`;
    const longFile = join(dir, 'long-token');
    await writeFile(longFile, long);
    const s = scripted([{ status: 400, body: xmlError('InvalidIdentityToken', `bad token ${long}`) }]);
    const e = (await assumeRoleWithWebIdentity({ ...call(), tokenFile: longFile }, s.deps).catch(
      (x: unknown) => x,
    )) as Error;
    expect(e.message).toContain('[web identity token]');
    expect(e.message).not.toContain(long.slice(0, 40));
    expect(e.message).not.toContain('p'.repeat(20));
  });

  it('an error that echoes the token (whoever wrote it) does not carry it', async () => {
    for (const echo of [
      { status: 400, body: xmlError('InvalidIdentityToken', `bad token ${TOKEN}`) },
      Object.assign(new Error(`proxy said: ${TOKEN}`), { code: 'ENOPE' }),
    ]) {
      const s = scripted([echo]);
      const e = (await assumeRoleWithWebIdentity(call(), s.deps).catch((x: unknown) => x)) as Error;
      expect(e.message).not.toContain(TOKEN);
      expect(e.message).toContain('[web identity token]');
      expect(e.stack ?? '').not.toContain(TOKEN);
    }
  });
});

describe('one exchange (http-call)', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/silent') return; // never answers
      if (req.url === '/big') return res.end('x'.repeat(200_000));
      if (req.url === '/drip') {
        res.writeHead(200);
        res.write('<');
        return; // headers and a byte, then nothing
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () =>
        res.end(
          `${req.method} ${req.headers['content-type']} ${req.headers['content-length']} ${req.headers['user-agent']} ${body}`,
        ),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const post = (path: string, timeoutMs = 5_000) =>
    send(new URL(path, base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
      timeoutMs,
      maxBytes: 64 * 1024,
    });

  it('sends the body with its length and a user agent naming the sidecar, and returns the answer', async () => {
    await expect(post('/echo')).resolves.toEqual({
      status: 200,
      body: `POST application/x-www-form-urlencoded 3 vault-irsa-sidecar/${VERSION} a=1`,
    });
  });

  it('gives up at the deadline, whether nothing comes or the answer stalls', async () => {
    await expect(post('/silent', 300)).rejects.toMatchObject({ awsCode: 'TimeoutError' });
    await expect(post('/drip', 300)).rejects.toMatchObject({ awsCode: 'TimeoutError' });
  });

  it('refuses an answer over the cap', async () => {
    await expect(post('/big')).rejects.toMatchObject({ awsCode: 'ResponseTooLarge' });
  });

  it('a refused connection carries the errno code (the retry rules read it)', async () => {
    await expect(post('http://127.0.0.1:1/')).rejects.toMatchObject({ errno: 'ECONNREFUSED' });
  });
});
