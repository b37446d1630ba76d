import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { canonicalUri, verifySigV4, type SigV4Request } from '../../../stand-ins/sigv4-verify.js';

// AWS's published SigV4 test suite (aws-sig-v4-test-suite): credentials, date and expected signatures.
const AK = 'AKIDEXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SUITE_NOW = new Date('2015-08-30T12:36:00Z');
const STS_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

const suiteOpts = (sessionToken?: string) => ({
  now: SUITE_NOW,
  service: 'service',
  region: 'us-east-1',
  lookup: (id: string) => (id === AK ? { secretAccessKey: SK, ...(sessionToken ? { sessionToken } : {}) } : undefined),
});

const authz = (signed: string, sig: string) =>
  `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signed}, Signature=${sig}`;

describe('verifySigV4 against AWS test-suite vectors', () => {
  it('post-vanilla', () => {
    const req: SigV4Request = {
      method: 'POST',
      path: '/',
      query: '',
      body: '',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization: authz('host;x-amz-date', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'),
      },
    };
    expect(verifySigV4(req, suiteOpts())).toMatchObject({ ok: true, accessKeyId: AK });
  });

  it('post-x-www-form-urlencoded', () => {
    const req: SigV4Request = {
      method: 'POST',
      path: '/',
      query: '',
      body: 'Param1=value1',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization: authz(
          'content-type;host;x-amz-date',
          'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
        ),
      },
    };
    expect(verifySigV4(req, suiteOpts()).ok).toBe(true);
    expect(verifySigV4({ ...req, body: 'Param1=value2' }, suiteOpts())).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
  });

  it('post-sts-header-before (session token signed)', () => {
    const req: SigV4Request = {
      method: 'POST',
      path: '/',
      query: '',
      body: '',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        'x-amz-security-token': STS_TOKEN,
        authorization: authz(
          'host;x-amz-date;x-amz-security-token',
          '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
        ),
      },
    };
    expect(verifySigV4(req, suiteOpts(STS_TOKEN)).ok).toBe(true);
    // a different session token than the one issued with the key
    expect(verifySigV4(req, suiteOpts('other'))).toMatchObject({ ok: false, code: 'InvalidClientTokenId' });
  });

  it('get-header-key-duplicate (values joined with commas) via the smithy fixture signature', () => {
    const req: SigV4Request = {
      method: 'GET',
      path: '/',
      query: '',
      body: '',
      headers: {
        host: 'example.amazonaws.com',
        'my-header1': ['value2', 'value2', 'value1'],
        'x-amz-date': '20150830T123600Z',
        authorization: authz(
          'host;my-header1;x-amz-date',
          'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea',
        ),
      },
    };
    expect(verifySigV4(req, suiteOpts()).ok).toBe(true);
  });

  it('normalises the canonical URI (// → /, dot segments, spaces)', () => {
    expect(canonicalUri('//')).toBe('/');
    expect(canonicalUri('/')).toBe('/');
    expect(canonicalUri('/./foo/../bar/')).toBe('/bar/');
    expect(canonicalUri('/example space/')).toBe('/example%20space/');
  });
});

describe('verifySigV4 against @smithy/signature-v4', () => {
  const creds = {
    accessKeyId: 'ASIATESTTESTTESTTEST',
    secretAccessKey: 'secret/key+value',
    sessionToken: 'session-token-value',
  };
  const now = new Date('2024-05-01T10:00:00Z');
  const lookup = (id: string) =>
    id === creds.accessKeyId ? { secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken } : undefined;

  async function sign(region = 'us-east-1', headers: Record<string, string> = {}) {
    const signer = new SignatureV4({ service: 'sts', region, sha256: Hash.bind(null, 'sha256'), credentials: creds });
    const host = region === 'us-east-1' ? 'sts.amazonaws.com' : `sts.${region}.amazonaws.com`;
    const signed = await signer.sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: host,
        path: '/',
        query: {},
        body: 'Action=GetCallerIdentity&Version=2011-06-15',
        headers: {
          host,
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          'x-vault-aws-iam-server-id': 'vault.example.com',
          ...headers,
        },
      },
      { signingDate: now },
    );
    return {
      method: 'POST',
      path: '/',
      query: '',
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      headers: signed.headers as Record<string, string>,
    } satisfies SigV4Request;
  }

  it("accepts what smithy signs, including Vault's // path", async () => {
    const req = await sign();
    expect(verifySigV4(req, { now, service: 'sts', region: 'us-east-1', lookup })).toMatchObject({
      ok: true,
      region: 'us-east-1',
    });
    expect(verifySigV4({ ...req, path: '//' }, { now, service: 'sts', region: 'us-east-1', lookup }).ok).toBe(true);
  });

  it('rejects tampering with body, signed header, host, key, token', async () => {
    const req = await sign();
    const o = { now, service: 'sts', region: 'us-east-1', lookup };
    expect(verifySigV4({ ...req, body: 'Action=GetCallerIdentity&Version=2011-06-16' }, o)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(verifySigV4({ ...req, headers: { ...req.headers, 'x-vault-aws-iam-server-id': 'evil' } }, o)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(
      verifySigV4({ ...req, headers: { ...req.headers, host: 'sts.evil.com' } }, { ...o, region: undefined }),
    ).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(verifySigV4(req, { ...o, lookup: () => undefined })).toMatchObject({
      ok: false,
      code: 'InvalidClientTokenId',
    });
    expect(verifySigV4({ ...req, headers: { ...req.headers, 'x-amz-security-token': 'nope' } }, o)).toMatchObject({
      ok: false,
      code: 'InvalidClientTokenId',
    });
    const { authorization: _a, ...noAuth } = req.headers;
    expect(verifySigV4({ ...req, headers: noAuth }, o)).toMatchObject({
      ok: false,
      code: 'MissingAuthenticationToken',
    });
    const sig = req.headers.authorization!.replace(
      /Signature=([0-9a-f])/,
      (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`,
    );
    expect(verifySigV4({ ...req, headers: { ...req.headers, authorization: sig } }, o)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
  });

  it('enforces the 15-minute window and credential expiry', async () => {
    const req = await sign();
    const o = { service: 'sts', region: 'us-east-1', lookup };
    expect(verifySigV4(req, { ...o, now: new Date(now.getTime() + 14 * 60_000) }).ok).toBe(true);
    const late = verifySigV4(req, { ...o, now: new Date(now.getTime() + 16 * 60_000) });
    expect(late).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(!late.ok && late.message).toMatch(/Signature expired/);
    expect(verifySigV4(req, { ...o, now: new Date(now.getTime() - 16 * 60_000) })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/not yet current/),
    });
    expect(
      verifySigV4(req, { ...o, now, lookup: (id) => ({ ...lookup(id)!, expiration: new Date(now.getTime() - 1) }) }),
    ).toMatchObject({ ok: false, code: 'ExpiredToken' });
  });

  it('rejects a credential scope for another region than the endpoint serves', async () => {
    const req = await sign('us-west-2');
    expect(verifySigV4(req, { now, service: 'sts', region: 'us-west-2', lookup }).ok).toBe(true);
    expect(verifySigV4(req, { now, service: 'sts', region: undefined, lookup }).ok).toBe(true);
    const r = verifySigV4(req, { now, service: 'sts', region: 'us-east-1', lookup });
    expect(r).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(!r.ok && r.message).toMatch(/^Credential should be scoped to a valid region/);
    expect(verifySigV4(req, { now, service: 'iam', region: 'us-west-2', lookup })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/correct service/),
    });
  });

  it('requires host to be signed', async () => {
    const signer = new SignatureV4({
      service: 'sts',
      region: 'us-east-1',
      sha256: Hash.bind(null, 'sha256'),
      credentials: creds,
    });
    const signed = await signer.sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: 'sts.amazonaws.com',
        path: '/',
        query: {},
        body: 'x',
        headers: { 'content-type': 'text/plain' },
      },
      { signingDate: now },
    );
    const h = signed.headers as Record<string, string>;
    expect(h.authorization).not.toMatch(/host/);
    expect(
      verifySigV4(
        { method: 'POST', path: '/', query: '', body: 'x', headers: { ...h, host: 'sts.amazonaws.com' } },
        { now, service: 'sts', lookup },
      ),
    ).toMatchObject({ ok: false, code: 'IncompleteSignature' });
  });
});
