/**
 * EKS Pod Identity without the AWS SDK (sidecar/aws/container-credentials.ts): the SDK's host rules (checked
 * against its fromHttp, a devDependency), its validation of the agent's answer, the call against the agent
 * stand-in, and no authorization token in any error.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
// the SDK's own module (credential-providers' fromHttp defers to it, asynchronously)
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { createCredentialProvider } from '../../../sidecar/aws-credentials.js';
import type { HttpCall } from '../../../sidecar/aws/http-call.js';
import {
  containerUrlProblem,
  fetchContainerCredentials,
  parseContainerAnswer,
  ATTEMPT_TIMEOUT_MS,
  MAX_RETRIES,
} from '../../../sidecar/aws/container-credentials.js';
import { startOidcIssuer, type OidcIssuerExt } from '../../../stand-ins/oidc-issuer.js';
import { startFakeSts, type FakeStsExt } from '../../../stand-ins/sts.js';
import { startFakePodIdentityAgent, type FakePodIdentityAgentExt } from '../../support/pod-identity-agent.js';

const ROLE = 'arn:aws:iam::111122223333:role/app-vault';
const noSleep = { sleep: async () => undefined };

/** Whether the SDK's fromHttp refuses this URL (it checks when the provider is made). */
function sdkRefuses(url: string): boolean {
  try {
    fromHttp({ awsContainerCredentialsFullUri: url, logger: { debug: () => undefined } as never });
    return false;
  } catch {
    return true;
  }
}

describe('which URLs get the token', () => {
  const listed = [
    'https://creds.example.com/x',
    'https://10.0.0.1/x',
    'http://127.0.0.1/x',
    'http://127.255.0.9:8080/x',
    'http://localhost:3000/x',
    'http://[::1]:80/x',
    'http://169.254.170.2/v2/credentials',
    'http://169.254.170.23/v1/credentials',
    'http://[fd00:ec2::23]/v1/credentials',
    'http://[fd00:ec2:0::23]/v1/credentials',
    'http://192.0.2.1/credentials',
    'http://10.0.0.1/credentials',
    'http://169.254.169.254/latest',
    'http://128.0.0.1/x',
    'http://localhost.example.com/x',
    'http://127.0.0.1.nip.io/x',
    'http://0x7f.1/x',
    'http://2130706433/x',
    'http://[::ffff:127.0.0.1]/x',
    'http://[fd00:ec2::24]/x',
  ];

  it.each(listed)('%s: as the SDK decides', (url) => {
    expect(containerUrlProblem(new URL(url)) !== null).toBe(sdkRefuses(url));
  });

  it('as the SDK decides for any host', () => {
    const host = fc.oneof(
      fc.ipV4(),
      fc.ipV4Extended(),
      fc.ipV6().map((h) => `[${h}]`),
      fc.domain(),
      fc.constantFrom('localhost', '169.254.170.2', '169.254.170.23', '[fd00:ec2::23]'),
    );
    fc.assert(
      fc.property(host, fc.constantFrom('http', 'https'), (h, scheme) => {
        let url: string;
        try {
          url = new URL(`${scheme}://${h}/creds`).href;
        } catch {
          return; // not a URL: config refuses it before this
        }
        expect(containerUrlProblem(new URL(url)) !== null).toBe(sdkRefuses(url));
      }),
      { numRuns: 500 },
    );
  });

  it('says why, naming the hosts it accepts', () => {
    expect(containerUrlProblem(new URL('http://192.0.2.1/'))).toMatch(
      /^URL not accepted: it must be HTTPS.*169\.254\.170\.23/,
    );
  });
});

describe("the agent's answer", () => {
  const good = {
    AccessKeyId: 'ASIAX',
    SecretAccessKey: 'secret',
    Token: 'session',
    AccountId: '111122223333',
    Expiration: '2099-01-01T00:00:00Z',
  };

  it('credentials, expiring when the agent says', () => {
    expect(parseContainerAnswer(200, JSON.stringify(good))).toEqual({
      accessKeyId: 'ASIAX',
      secretAccessKey: 'secret',
      sessionToken: 'session',
      expiration: new Date('2099-01-01T00:00:00Z'),
    });
  });

  it.each([
    ['not JSON', '<html>', /not JSON/],
    ['null', 'null', /not of the required format/],
    ['a number for Token', JSON.stringify({ ...good, Token: 1 }), /not of the required format/],
    ['no Expiration', JSON.stringify({ ...good, Expiration: undefined }), /not of the required format/],
    ['a bad Expiration', JSON.stringify({ ...good, Expiration: 'tomorrow' }), /Expiration is not an RFC 3339/],
  ])('refuses %s', (_what, body, message) => {
    expect(() => parseContainerAnswer(200, body)).toThrow(
      expect.objectContaining({ awsCode: 'CredentialsProviderError', message: expect.stringMatching(message) }),
    );
  });

  it('never throws anything but a named error, for any answer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), fc.oneof(fc.string(), fc.json()), (status, body) => {
        try {
          parseContainerAnswer(status, body);
          expect(status).toBe(200);
        } catch (e) {
          expect(e).toMatchObject({ name: 'ContainerCredentialsError', awsCode: 'CredentialsProviderError' });
        }
      }),
    );
  });

  it("a 4xx says the status and the agent's message, never the token", () => {
    const token = 'pod-identity-token-0123456789';
    expect(() => parseContainerAnswer(403, JSON.stringify({ message: `token ${token} is invalid` }), token)).toThrow(
      'Server responded with status: 403: token [authorization token] is invalid',
    );
    expect(() => parseContainerAnswer(500, 'boom')).toThrow(/^Server responded with status: 500$/);
  });
});

describe('against the Pod Identity agent stand-in', () => {
  let issuer: OidcIssuerExt;
  let sts: FakeStsExt;
  let agent: FakePodIdentityAgentExt;
  let dir: string;
  let tokenFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vault-irsa-pod-identity-'));
    issuer = await startOidcIssuer();
    sts = await startFakeSts({ issuer });
    agent = await startFakePodIdentityAgent({ sts, roleArn: ROLE });
    tokenFile = join(dir, 'eks-pod-identity-token');
  });
  afterAll(async () => {
    await agent.close();
    await sts.close();
    await issuer.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await writeFile(tokenFile, agent.authorizationToken);
    (agent.calls as unknown[]).length = 0;
  });

  it('credentials from the agent, with the token file', async () => {
    const c = await createCredentialProvider(
      { kind: 'pod-identity', fullUri: agent.url, authorizationTokenFile: tokenFile },
      'us-east-1',
      {},
    )();
    expect(c.accessKeyId).toMatch(/^ASIA/);
    expect(c.sessionToken).toMatch(/^IQoJ/);
    expect((c.expiration?.getTime() ?? 0) - Date.now()).toBeGreaterThan(5 * 3600_000);
    expect(agent.calls).toEqual([{ status: 200 }]);
  });

  it('or with AWS_CONTAINER_AUTHORIZATION_TOKEN when there is no file', async () => {
    const c = await createCredentialProvider({ kind: 'pod-identity', fullUri: agent.url }, 'us-east-1', {
      AWS_CONTAINER_AUTHORIZATION_TOKEN: agent.authorizationToken,
    })();
    expect(c.accessKeyId).toMatch(/^ASIA/);
  });

  it('reads the token file on every call, retries twice, and keeps the token out of the error', async () => {
    await fetchContainerCredentials({ fullUri: agent.url, tokenFile }, noSleep);
    const wrong = 'a-token-the-agent-does-not-know-0123456789';
    await writeFile(tokenFile, wrong);
    const e = (await fetchContainerCredentials({ fullUri: agent.url, tokenFile }, noSleep).catch(
      (x: unknown) => x,
    )) as Error;
    expect(e.message).toBe('Server responded with status: 403: Service account token is invalid');
    expect(agent.calls.map((c) => c.status)).toEqual([200, 403, 403, 403]);
    expect(e.message).not.toContain(wrong);
  });

  it('the CredentialsError names the source and the agent, and no token', async () => {
    await writeFile(tokenFile, 'wrong-token-value-0123456789');
    const source = { kind: 'pod-identity' as const, fullUri: agent.url, authorizationTokenFile: tokenFile };
    const provider = createCredentialProvider(source, 'us-east-1', {});
    // the real wait between tries is 5 s (the SDK's); this test takes them
    const e = (await provider().catch((x: unknown) => x)) as Error;
    expect(e.name).toBe('CredentialsError');
    expect(e.message).toBe(
      `could not get AWS credentials from EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI=${agent.url}): CredentialsProviderError: Server responded with status: 403: Service account token is invalid`,
    );
    expect(e.message).not.toContain('wrong-token-value');
  }, 20_000);

  it('a token with a line break is refused before anything is sent, and not echoed', async () => {
    const bad = 'first-line-of-token\r\nX-Injected: 1';
    await writeFile(tokenFile, bad);
    const e = (await fetchContainerCredentials({ fullUri: agent.url, tokenFile }, noSleep).catch(
      (x: unknown) => x,
    )) as Error;
    expect(e.message).toBe('the authorization token contains a line break');
    expect(agent.calls).toEqual([]);
  });

  it('an error that quotes the token (whoever wrote it) does not carry it, in message or stack', async () => {
    const send = async (_u: URL, c: HttpCall) => {
      throw new Error(`proxy refused header ${c.headers.authorization ?? ''}`);
    };
    const e = (await fetchContainerCredentials({ fullUri: agent.url, tokenFile }, { ...noSleep, send }).catch(
      (x: unknown) => x,
    )) as Error;
    expect(e.message).toBe('proxy refused header [authorization token]');
    expect(e.stack ?? '').not.toContain(agent.authorizationToken);
  });

  it('a refused URL is not called at all', async () => {
    await expect(
      fetchContainerCredentials({ fullUri: 'http://192.0.2.1/v1/credentials', token: 't' }, noSleep),
    ).rejects.toThrow(/^URL not accepted/);
  });

  it('each attempt has the 5 s deadline; three attempts in all', async () => {
    const calls: HttpCall[] = [];
    const send = async (_u: URL, c: HttpCall) => {
      calls.push(c);
      throw Object.assign(new Error('x: ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    await expect(fetchContainerCredentials({ fullUri: agent.url }, { ...noSleep, send })).rejects.toThrow(
      'ECONNREFUSED',
    );
    expect(calls).toHaveLength(MAX_RETRIES + 1);
    expect(calls.every((c) => c.timeoutMs === ATTEMPT_TIMEOUT_MS && c.method === 'GET')).toBe(true);
    expect(calls[0]?.headers.authorization).toBeUndefined();
  });
});
