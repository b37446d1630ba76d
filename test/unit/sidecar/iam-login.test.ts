import { buildIamLoginBody, STS_BODY } from '../../../sidecar/iam-login.js';
import { stsEndpointFor, isValidRegion } from '../../../sidecar/sts-endpoint.js';
import { verifySigV4 } from '../../../stand-ins/sigv4-verify.js';

const creds = {
  accessKeyId: 'ASIAEXAMPLE0000001',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN',
};
const now = new Date('2025-03-01T12:00:00Z');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

async function decoded(region = 'us-east-1', iamServerId?: string) {
  const body = await buildIamLoginBody({
    role: 'app',
    credentials: creds,
    region,
    now,
    ...(iamServerId ? { iamServerId } : {}),
  });
  const headers = JSON.parse(unb64(body.iam_request_headers)) as Record<string, string[]>;
  return { body, headers, url: unb64(body.iam_request_url) };
}

describe('stsEndpointFor', () => {
  it.each([
    ['us-east-1', 'https://sts.amazonaws.com/'],
    ['eu-west-1', 'https://sts.eu-west-1.amazonaws.com/'],
    ['us-gov-west-1', 'https://sts.us-gov-west-1.amazonaws.com/'],
    ['cn-north-1', 'https://sts.cn-north-1.amazonaws.com.cn/'],
    ['cn-northwest-1', 'https://sts.cn-northwest-1.amazonaws.com.cn/'],
    ['us-iso-east-1', 'https://sts.us-iso-east-1.c2s.ic.gov/'],
    ['us-isob-east-1', 'https://sts.us-isob-east-1.sc2s.sgov.gov/'],
  ])('%s → %s', (region, url) => expect(stsEndpointFor(region)).toBe(url));
  it('refuses what is not a region', () => {
    expect(isValidRegion('us-east-1')).toBe(true);
    expect(isValidRegion('sts.amazonaws.com')).toBe(false);
    expect(() => stsEndpointFor('x')).toThrow();
  });
});

describe('buildIamLoginBody (docs/vault-and-aws.md, the login)', () => {
  it('has the fields Vault wants, base64 padded', async () => {
    const { body, url } = await decoded();
    expect(body.role).toBe('app');
    expect(body.iam_http_request_method).toBe('POST');
    expect(url).toBe('https://sts.amazonaws.com/');
    expect(body.iam_request_url).toBe(Buffer.from('https://sts.amazonaws.com/').toString('base64'));
    expect(body.iam_request_url.length % 4).toBe(0);
    expect(unb64(body.iam_request_body)).toBe('Action=GetCallerIdentity&Version=2011-06-15');
  });

  it('sends exactly the allowed headers, all signed, no stray X-Amz-*', async () => {
    const { headers } = await decoded('us-east-1', 'vault.example.com');
    expect(Object.keys(headers).sort()).toEqual(
      [
        'Authorization',
        'Content-Type',
        'Host',
        'X-Amz-Date',
        'X-Amz-Security-Token',
        'X-Vault-AWS-IAM-Server-ID',
      ].sort(),
    );
    expect(headers.Host).toEqual(['sts.amazonaws.com']);
    expect(headers['Content-Type']).toEqual(['application/x-www-form-urlencoded; charset=utf-8']);
    expect(headers['X-Amz-Date']).toEqual(['20250301T120000Z']);
    expect(headers['X-Amz-Security-Token']).toEqual([creds.sessionToken]);
    expect(headers['X-Vault-AWS-IAM-Server-ID']).toEqual(['vault.example.com']);
    const auth = headers.Authorization?.[0] ?? '';
    expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE0000001\/20250301\/us-east-1\/sts\/aws4_request, /);
    expect(auth).toContain(
      'SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-vault-aws-iam-server-id,',
    );
  });

  it('leaves the server-ID header out when none is configured', async () => {
    const { headers } = await decoded();
    expect(headers['X-Vault-AWS-IAM-Server-ID']).toBeUndefined();
    expect(headers.Authorization?.[0]).toContain('SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,');
  });

  it.each(['us-east-1', 'eu-west-1', 'cn-north-1'])(
    'produces a signature STS accepts, as Vault forwards it (%s)',
    async (region) => {
      const { headers } = await decoded(region, 'vault.example.com');
      // Vault re-sends to its own sts_endpoint: path "//", the client's headers.
      const result = verifySigV4(
        { method: 'POST', path: '//', query: '', headers, body: STS_BODY },
        { now, service: 'sts', region, lookup: (id) => (id === creds.accessKeyId ? creds : undefined) },
      );
      expect(result).toMatchObject({ ok: true, region });
      expect(headers.Host?.[0]).toBe(new URL(stsEndpointFor(region)).host);
    },
  );

  it('a changed header no longer verifies (the test can fail)', async () => {
    const { headers } = await decoded('us-east-1', 'vault.example.com');
    headers['X-Vault-AWS-IAM-Server-ID'] = ['evil.example.com'];
    const result = verifySigV4(
      { method: 'POST', path: '/', query: '', headers, body: STS_BODY },
      { now, service: 'sts', region: 'us-east-1', lookup: () => creds },
    );
    expect(result.ok).toBe(false);
  });

  it('signs afresh each time (date moves with the clock)', async () => {
    const a = await buildIamLoginBody({ role: 'app', credentials: creds, region: 'us-east-1', now });
    const b = await buildIamLoginBody({
      role: 'app',
      credentials: creds,
      region: 'us-east-1',
      now: new Date(now.getTime() + 60_000),
    });
    expect(a.iam_request_headers).not.toEqual(b.iam_request_headers);
  });
});
