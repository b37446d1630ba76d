import { createServer, type Server } from 'node:http';
import { startOidcIssuer, type OidcIssuerExt } from '../../../stand-ins/oidc-issuer.js';
import { startFakeSts, type FakeStsExt } from '../../../stand-ins/sts.js';
import { startFakeVault, type FakeVaultExt } from '../../../stand-ins/vault.js';
import { parseIamArn, canonicalArn } from '../../../stand-ins/vault/login.js';
import { listen, closeServer } from '../../../stand-ins/server-util.js';
import { loginPayload, signGetCallerIdentity, vaultCall, type SignOpts } from './login-signer.js';

const ROLE_ARN = 'arn:aws:iam::111122223333:role/app-vault';
const PATH_ROLE_ARN = 'arn:aws:iam::111122223333:role/team/x/pathy';
const SERVER_ID = 'vault.example.com';

describe('fake Vault IAM login (docs/vault-and-aws.md, checks in order)', () => {
  let issuer: OidcIssuerExt;
  let sts: FakeStsExt;
  let vault: FakeVaultExt;
  beforeAll(async () => {
    issuer = await startOidcIssuer();
    sts = await startFakeSts({ issuer });
    sts.addRole({ roleArn: ROLE_ARN, allowedSubjects: ['system:serviceaccount:demo:app'] });
    sts.addRole({ roleArn: PATH_ROLE_ARN, allowedSubjects: [] });
    vault = await startFakeVault({ sts });
  });
  beforeEach(() => {
    vault.configureAwsAuth({ iamServerIdHeaderValue: SERVER_ID });
    vault.writeRole('app', {
      auth_type: 'iam',
      bound_iam_principal_arn: [ROLE_ARN],
      token_policies: ['p'],
      token_ttl: 600,
      token_max_ttl: 1200,
    });
  });
  afterAll(async () => {
    await vault.close();
    await sts.close();
    await issuer.close();
  });

  const login = (body: unknown, mount = 'aws') => vaultCall(vault.addr, 'POST', `auth/${mount}/login`, { body });
  async function payload(o: SignOpts = {}, roleArn = ROLE_ARN, role = 'app', omit?: string[]) {
    const creds = sts.issueCredentials(roleArn, 'sess');
    return loginPayload(role, await signGetCallerIdentity(creds, { serverId: SERVER_ID, ...o }), omit);
  }
  async function expectError(body: unknown, message: string | RegExp) {
    const r = await login(body);
    expect(r.status).toBe(400);
    expect(Object.keys(r.json)).toEqual(['errors']);
    if (typeof message === 'string') expect(r.json.errors).toEqual([message]);
    else expect(r.json.errors[0]).toMatch(message);
  }
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('accepts a correctly signed login and answers with the Vault auth block', async () => {
    const r = await login(await payload());
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: null,
      wrap_info: null,
      warnings: null,
    });
    expect(r.json.auth).toMatchObject({
      client_token: expect.stringMatching(/^hvs\./),
      policies: ['default', 'p'],
      token_policies: ['default', 'p'],
      lease_duration: 600,
      renewable: true,
      token_type: 'service',
      orphan: true,
      entity_id: expect.any(String),
      accessor: expect.any(String),
      metadata: { account_id: '111122223333', auth_type: 'iam', role_id: expect.any(String), canonical_arn: ROLE_ARN },
    });
    expect(vault.logins.at(-1)).toMatchObject({ ok: true, role: 'app' });
  });

  it('1. field presence', async () => {
    await expectError({ role: 'app' }, "didn't supply required authentication values");
    const p = await payload();
    const { iam_request_headers: _h, ...partial } = p;
    await expectError(partial, "didn't supply required authentication values");
  });

  it('2. method', async () => {
    const p = await payload();
    await expectError({ ...p, iam_http_request_method: '' }, 'missing iam_http_request_method');
    await expectError(
      { ...p, iam_http_request_method: 'GET' },
      "invalid iam_http_request_method; currently only 'POST' is supported",
    );
  });

  it('3. url', async () => {
    const p = await payload();
    await expectError({ ...p, iam_request_url: '' }, 'missing iam_request_url');
    await expectError({ ...p, iam_request_url: 'not base64!' }, 'failed to base64 decode iam_request_url');
    await expectError({ ...p, iam_request_url: b64('https://sts.amazonaws.com/%zz') }, 'error parsing iam_request_url');
    await expectError(
      { ...p, iam_request_url: b64('https://sts.amazonaws.com/?Action=GetCallerIdentity') },
      'invalid request',
    );
  });

  it('4. body', async () => {
    const p = await payload();
    await expectError({ ...p, iam_request_body: '' }, 'missing iam_request_body');
    await expectError({ ...p, iam_request_body: '@@@' }, 'failed to base64 decode iam_request_body');
    await expectError(
      { ...p, iam_request_body: b64('Action=GetCallerIdentity&Version=2011-06-15&Foo=bar') },
      'iam request body is invalid',
    );
    await expectError(
      { ...p, iam_request_body: b64('Action=AssumeRole&Version=2011-06-15') },
      'iam request body is invalid',
    );
    await expectError(
      { ...p, iam_request_body: b64('Action=GetCallerIdentity&Action=GetCallerIdentity') },
      'iam request body is invalid',
    );
  });

  it('5. headers: missing, and the accepted forms (base64 JSON, raw JSON, object)', async () => {
    const p = await payload();
    await expectError({ ...p, iam_request_headers: '' }, 'missing iam_request_headers');
    await expectError({ ...p, iam_request_headers: {} }, 'missing iam_request_headers');
    const asObj = JSON.parse(Buffer.from(p.iam_request_headers!, 'base64').toString()) as Record<string, string[]>;
    expect((await login({ ...p, iam_request_headers: JSON.stringify(asObj) })).status).toBe(200);
    expect((await login({ ...p, iam_request_headers: asObj })).status).toBe(200);
    await expectError({ ...p, iam_request_headers: 'not json' }, /iam_request_headers/);
  });

  it('5b. header names are canonicalised; string values accepted', async () => {
    const p = await payload();
    const asObj = JSON.parse(Buffer.from(p.iam_request_headers!, 'base64').toString()) as Record<string, string[]>;
    const lowerSingle = Object.fromEntries(Object.entries(asObj).map(([k, v]) => [k.toLowerCase(), v[0]!]));
    expect((await login({ ...p, iam_request_headers: lowerSingle })).status).toBe(200);
  });

  it('6. server-ID header: missing, wrong, not signed, no Authorization', async () => {
    const creds = sts.issueCredentials(ROLE_ARN, 's');
    const pre = 'error validating X-Vault-AWS-IAM-Server-ID header: ';
    await expectError(
      loginPayload('app', await signGetCallerIdentity(creds)),
      `${pre}missing header "X-Vault-AWS-IAM-Server-ID"`,
    );
    await expectError(
      loginPayload('app', await signGetCallerIdentity(creds, { serverId: 'other' })),
      `${pre}expected "vault.example.com" but got "other"`,
    );
    await expectError(
      loginPayload(
        'app',
        await signGetCallerIdentity(creds, { serverId: SERVER_ID, unsignableHeaders: ['x-vault-aws-iam-server-id'] }),
      ),
      `${pre}vault header wasn't signed`,
    );
    await expectError(
      loginPayload('app', await signGetCallerIdentity(creds, { serverId: SERVER_ID }), ['host', 'authorization']),
      `${pre}missing Authorization header`,
    );
  });

  it('7. X-Amz-* allow-list', async () => {
    const p = await payload({ extraHeaders: { 'x-amz-user-agent': 'aws-sdk-js/3' } });
    await expectError(p, 'invalid request header: X-Amz-User-Agent');
  });

  it('8. upstream: STS error passed through, signature mismatch, region mismatch', async () => {
    const creds = sts.issueCredentials(ROLE_ARN, 's');
    const bad = loginPayload(
      'app',
      await signGetCallerIdentity({ ...creds, secretAccessKey: 'nope' }, { serverId: SERVER_ID }),
    );
    await expectError(
      bad,
      /^error making upstream request: received error code 403 from STS: <ErrorResponse[\s\S]*<Code>SignatureDoesNotMatch<\/Code>/,
    );
    // a header left out of iam_request_headers that was signed: STS can't recompute
    await expectError(
      loginPayload('app', await signGetCallerIdentity(creds, { serverId: SERVER_ID }), ['host', 'x-amz-date']),
      /received error code 403 from STS/,
    );
    // regional signature + Vault's default global endpoint
    vault.configureAwsAuth({ iamServerIdHeaderValue: SERVER_ID, stsEndpoint: 'https://sts.amazonaws.com' });
    expect((await login(await payload())).status).toBe(200);
    const west = await payload({ region: 'us-west-2' });
    await expectError(
      west,
      /^error making upstream request: received error code 403 from STS: [\s\S]*Credential should be scoped to a valid region/,
    );
    // global host, regional scope
    await expectError(
      await payload({ region: 'us-west-2', host: 'sts.amazonaws.com' }),
      /Credential should be scoped to a valid region/,
    );
  });

  it('8b. regional endpoints: sts_endpoint set to the region, or use_sts_region_from_client', async () => {
    vault.configureAwsAuth({ iamServerIdHeaderValue: SERVER_ID, stsEndpoint: 'https://sts.us-west-2.amazonaws.com' });
    expect((await login(await payload({ region: 'us-west-2' }))).status).toBe(200);
    await expectError(await payload(), /Credential should be scoped to a valid region/);
    vault.configureAwsAuth({ iamServerIdHeaderValue: SERVER_ID, useStsRegionFromClient: true });
    expect((await login(await payload({ region: 'eu-central-1' }))).status).toBe(200);
    expect((await login(await payload())).status).toBe(200);
  });

  it('8c. a reply that is not text/xml is rejected before its status is looked at', async () => {
    const srv: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<GetCallerIdentityResponse/>');
    });
    const port = await listen(srv);
    try {
      vault.configureAwsAuth({ iamServerIdHeaderValue: SERVER_ID, stsEndpoint: `http://127.0.0.1:${port}` });
      await expectError(await payload(), 'error making upstream request: body of GetCallerIdentity is invalid');
    } finally {
      await closeServer(srv);
    }
  });

  it('8d. STS unreachable', async () => {
    vault.configureAwsAuth({ iamServerIdHeaderValue: SERVER_ID, stsEndpoint: 'http://127.0.0.1:1' });
    await expectError(await payload(), /^error making upstream request: error making request: /);
  });

  it('9. ARN parsing and canonicalisation', () => {
    const e = parseIamArn('arn:aws:sts::111122223333:assumed-role/app-vault/sess');
    expect(e.ok && canonicalArn(e.value)).toBe(ROLE_ARN);
    expect(parseIamArn('arn:aws:iam::1:role')).toMatchObject({ ok: false });
    expect(parseIamArn('arn:aws:s3::1:bucket/x')).toMatchObject({
      ok: false,
      error: 'unrecognized service: s3, not one of iam or sts',
    });
    expect(parseIamArn('arn:aws:iam::1:group/x')).toMatchObject({ ok: false });
  });

  it('10. role lookup and auth type', async () => {
    await expectError(await payload({}, ROLE_ARN, 'nope'), 'entry for role nope not found');
    vault.writeRole('ec2role', { auth_type: 'ec2', bound_iam_principal_arn: [ROLE_ARN] });
    await expectError(await payload({}, ROLE_ARN, 'ec2role'), 'auth method iam not allowed for role ec2role');
    // no role given: the friendly name of the caller
    vault.writeRole('app-vault', { bound_iam_principal_arn: [ROLE_ARN] });
    expect((await login(await payload({}, ROLE_ARN, ''))).status).toBe(200);
  });

  it('11. binding: canonical ARN, unique ID, wildcard; otherwise 400 "does not belong"', async () => {
    vault.writeRole('other', {
      bound_iam_principal_arn: ['arn:aws:iam::111122223333:role/someone-else'],
      resolve_aws_unique_ids: false,
    });
    await expectError(
      await payload({}, ROLE_ARN, 'other'),
      `IAM Principal "arn:aws:sts::111122223333:assumed-role/app-vault/sess" does not belong to the role "other"`,
    );
    vault.writeRole('canon', { bound_iam_principal_arn: [ROLE_ARN], resolve_aws_unique_ids: false });
    expect((await login(await payload({}, ROLE_ARN, 'canon'))).status).toBe(200);
    // with a role path, the canonical ARN drops the path
    vault.writeRole('pathy', { bound_iam_principal_arn: [PATH_ROLE_ARN], resolve_aws_unique_ids: false });
    await expectError(await payload({}, PATH_ROLE_ARN, 'pathy'), /does not belong to the role "pathy"/);
    vault.writeRole('pathy2', {
      bound_iam_principal_arn: ['arn:aws:iam::111122223333:role/pathy'],
      resolve_aws_unique_ids: false,
    });
    expect((await login(await payload({}, PATH_ROLE_ARN, 'pathy2'))).status).toBe(200);
    // wildcard matches the full ARN, path included
    vault.writeRole('wild', { bound_iam_principal_arn: ['arn:aws:iam::111122223333:role/team/*'] });
    expect((await login(await payload({}, PATH_ROLE_ARN, 'wild'))).status).toBe(200);
    await expectError(await payload({}, ROLE_ARN, 'wild'), /does not belong/);
    // unique ID resolution: a recreated IAM role (new ID) no longer matches
    vault.writeRole('uid', { bound_iam_principal_arn: [ROLE_ARN] });
    expect((await login(await payload({}, ROLE_ARN, 'uid'))).status).toBe(200);
  });

  it('role writes validate like Vault', async () => {
    expect(() => vault.writeRole('x', { bound_iam_principal_arn: ['arn:aws:iam::111122223333:role/unknown'] })).toThrow(
      /unable to resolve ARN/,
    );
    expect(() => vault.writeRole('x', { auth_type: 'iam' })).toThrow(/at least one bound parameter/);
  });
});
