/** The pure parts of the sidecar's HTTP layer: target parser, Host rule, token check, error mapping. */
import fc from 'fast-check';
import { bearerChecker, vaultTokenChecker } from '../../../sidecar/http/bearer.js';
import { checkHost } from '../../../sidecar/http/host.js';
import { clientErrorAnswer } from '../../../sidecar/http/listener.js';
import { parseQuery, parseTarget } from '../../../sidecar/http/target.js';
import { loginErrorCode } from '../../../sidecar/login-error-code.js';
import { loginNotReadyReason } from '../../../sidecar/readiness.js';
import { CredentialsError, VaultIrsaError } from '../../../sidecar/errors.js';
import { VaultError, VaultUnreachableError } from '../../../sidecar/vault-client.js';
import { requestTarget } from './target-arbitraries.js';

const ok = (raw: string) => {
  const r = parseTarget(raw);
  if (!r.ok) throw new Error(`refused ${raw}: ${r.message}`);
  return r.target;
};
const refused = (raw: string | undefined) => {
  const r = parseTarget(raw);
  if (r.ok) throw new Error(`accepted ${raw} as ${r.target.path}`);
  return r.message;
};

describe('parseTarget', () => {
  it('origin-form: path and segments decoded once, query parsed', () => {
    expect(ok('/v1/secrets/db')).toEqual({
      path: '/v1/secrets/db',
      segments: ['v1', 'secrets', 'db'],
      query: new Map(),
    });
    expect(ok('/')).toMatchObject({ path: '/', segments: [] });
    expect(ok('/%76%31/secrets/%64b')).toMatchObject({ path: '/v1/secrets/db', segments: ['v1', 'secrets', 'db'] });
    // once: %252e is the three characters "%2e", not a dot segment
    expect(ok('/v1/secrets/db/%252e%252e')).toMatchObject({ segments: ['v1', 'secrets', 'db', '%2e%2e'] });
    expect(ok('/v1/secrets/db?wait=30s&x=a+b%21').query).toEqual(
      new Map([
        ['wait', '30s'],
        ['x', 'a b!'],
      ]),
    );
    expect(ok('/v1/secrets/db/a%20key')).toMatchObject({ segments: ['v1', 'secrets', 'db', 'a key'] });
    expect(ok('/v1/secrets/db/..a')).toMatchObject({ segments: ['v1', 'secrets', 'db', '..a'] });
  });

  it.each([
    ['http://x/v1/secrets/db', 'absolute-form'],
    ['HTTP://x/v1/secrets', 'absolute-form'],
    ['https://u:p@127.0.0.1:1/v1/secrets', 'absolute-form'],
    ['*', 'asterisk-form'],
    ['localhost:8765', 'origin-form'],
    ['v1/secrets', 'origin-form'],
    ['', 'empty'],
    ['/v1//secrets', 'empty path segment'],
    ['//v1/secrets', 'empty path segment'],
    ['/v1/secrets/', 'empty path segment'],
    ['/v1/secrets/db/../other', 'dot segments'],
    ['/v1/./secrets', 'dot segments'],
    ['/v1/%2e%2E/secrets', 'dot segments'],
    ['/v1/secrets/..', 'dot segments'],
    ['/v1/secrets%2fdb', 'encoded "/"'],
    ['/v1/secrets/db%2F', 'encoded "/"'],
    ['/v1/secrets/%E0%A4%A', 'malformed request URL'],
    ['/v1/secrets/%zz', 'malformed request URL'],
    ['/v1/secrets/db#x', 'fragment'],
    ['/v1/secrets/db?wait=%E0', 'malformed request URL'],
    ['/v1/secrets/db?wait=1s&wait=2s', 'more than once'],
  ])('refuses %j (%s)', (raw, why) => {
    expect(refused(raw)).toContain(why);
  });

  it('never echoes an absolute-form target (it can carry userinfo)', () => {
    expect(refused('http://user:hunter2@h/v1')).not.toContain('hunter2');
  });

  it('property: an accepted target routes on exactly its decoded segments; nothing ambiguous survives', () => {
    fc.assert(
      fc.property(requestTarget({ secret: 'db', key: 'password' }), (raw) => {
        const r = parseTarget(raw);
        if (!r.ok) return;
        expect(raw.startsWith('/')).toBe(true);
        expect(r.target.path).toBe(`/${r.target.segments.join('/')}`);
        for (const s of r.target.segments) {
          expect(s).not.toBe('');
          expect(['.', '..']).not.toContain(s);
          expect(s).not.toContain('/');
        }
        // the path is the raw path decoded once, segment by segment
        const rawPath = raw.split('?')[0] as string;
        expect(r.target.segments).toEqual(
          rawPath === '/'
            ? []
            : rawPath
                .slice(1)
                .split('/')
                .map((x) => decodeURIComponent(x)),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('property: any segments, encoded, come back as they were', () => {
    const seg = fc
      .string({ minLength: 1, maxLength: 12, unit: 'grapheme' })
      .filter((s) => s !== '.' && s !== '..' && !s.includes('/'));
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 5 }), (segs) => {
        const t = ok(`/${segs.map(encodeURIComponent).join('/')}`);
        expect(t.segments).toEqual(segs);
      }),
    );
  });

  it('a plain path parsed again (from the cache) is the same answer, frozen, and the cache stays bounded', () => {
    const first = ok('/v1/secrets/db');
    const again = ok(`/v1/secrets/${'d'}b`);
    expect(again).toEqual(first);
    expect(Object.isFrozen(again) && Object.isFrozen(again.segments)).toBe(true);
    expect(() => (again.segments as string[]).push('x')).toThrow();
    // more distinct paths than the cache holds: each still parses to itself
    for (let i = 0; i < 600; i++) expect(ok(`/v1/secrets/s${i}`).segments).toEqual(['v1', 'secrets', `s${i}`]);
    expect(ok('/v1/secrets/db')).toEqual(first);
    // a long path parses the same but is not kept (nor frozen)
    const long = `/v1/secrets/${'a'.repeat(200)}`;
    expect(ok(long).segments).toEqual(['v1', 'secrets', 'a'.repeat(200)]);
    expect(Object.isFrozen(ok(long))).toBe(false);
  });

  it('parseQuery: empty parts skipped, a bare name is an empty value', () => {
    const r = parseQuery('&a&b=&&c=1');
    expect(r.ok && [...r.query]).toEqual([
      ['a', ''],
      ['b', ''],
      ['c', '1'],
    ]);
  });
});

describe('checkHost', () => {
  it.each([
    ['127.0.0.1', 'ok'],
    ['127.0.0.1:8765', 'ok'],
    ['localhost', 'ok'],
    ['LOCALHOST:1', 'ok'],
    ['[::1]', 'ok'],
    ['[::1]:8765', 'ok'],
    ['evil.example', 'not_loopback'],
    ['localhost.', 'not_loopback'],
    ['127.0.0.2', 'not_loopback'],
    ['127.0.0.1.nip.io', 'not_loopback'],
    ['localhost:8765@evil', 'not_loopback'],
    ['[::ffff:127.0.0.1]', 'not_loopback'],
    ['0.0.0.0', 'not_loopback'],
  ])('%s → %s', (host, want) => {
    expect(checkHost(host, '1.1')).toBe(want);
  });
  it('a missing Host: allowed for HTTP/1.0 only', () => {
    expect(checkHost(undefined, '1.0')).toBe('ok');
    expect(checkHost(undefined, '1.1')).toBe('missing');
    expect(checkHost('', '1.1')).toBe('missing');
  });
});

describe('bearerChecker', () => {
  const token = 'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZmdoaWo';
  const check = bearerChecker(token);
  it('accepts the token in the spellings the contract allows', () => {
    for (const h of [`Bearer ${token}`, `bearer ${token}`, `BEARER\t${token}`, `Bearer   ${token}  `])
      expect(check(h)).toBe('ok');
  });
  it('missing (401) without a bearer credential, wrong (403) with another token', () => {
    for (const h of [undefined, '', 'Bearer', 'Bearer ', `Basic ${token}`, token, `Token ${token}`])
      expect(check(h)).toBe('missing');
    for (const h of [
      `Bearer ${token}x`,
      `Bearer ${token.slice(1)}`,
      `Bearer ${token.toLowerCase()}`,
      `Bearer "${token}"`,
    ])
      expect(check(h)).toBe('wrong');
    expect(check(`Bearer ${token} ${token}`)).toBe('missing');
  });
  it('property: only the token itself is ok', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        if (s.trim() !== token) expect(check(`Bearer ${s}`)).not.toBe('ok');
      }),
    );
  });
});

describe('vaultTokenChecker (the Vault view: X-Vault-Token or Authorization: Bearer)', () => {
  const token = 'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZmdoaWo';
  const check = vaultTokenChecker(token);
  it('either header presents the token', () => {
    expect(check(undefined, token)).toBe('ok');
    expect(check(`Bearer ${token}`, undefined)).toBe('ok');
    expect(check(`Bearer ${token}`, token)).toBe('ok');
    // another scheme presents no token: X-Vault-Token decides
    expect(check(`Basic ${token}`, token)).toBe('ok');
  });
  it('every token presented must be the right one', () => {
    expect(check(undefined, undefined)).toBe('missing');
    expect(check(`Basic ${token}`, undefined)).toBe('missing');
    expect(check(`Bearer ${token}`, 'other')).toBe('wrong');
    expect(check('Bearer other', token)).toBe('wrong');
    expect(check(undefined, [token, token])).toBe('wrong');
    for (const x of ['', `${token}x`, token.slice(1), token.toLowerCase(), `Bearer ${token}`, `${token}, ${token}`])
      expect(check(undefined, x)).toBe('wrong');
  });
  it('property: only the token itself is ok', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        if (s !== token) expect(check(undefined, s)).toBe('wrong');
      }),
    );
  });
});

describe('answers for what node:http cannot parse', () => {
  it('maps the parser error to a status and a code', () => {
    expect(clientErrorAnswer('HPE_HEADER_OVERFLOW').status).toBe(431);
    expect(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT').status).toBe(408);
    expect(clientErrorAnswer('HPE_INVALID_METHOD')).toEqual({
      status: 400,
      code: 'bad_request',
      message: 'malformed HTTP request',
    });
  });
});

describe('login readiness on the pod IP: a code, never the message', () => {
  it('derives the code from the error class', () => {
    expect(
      loginErrorCode(new CredentialsError('could not get AWS credentials from web identity (AWS_ROLE_ARN=arn:…)')),
    ).toBe('aws_credentials_failed');
    expect(
      loginErrorCode(
        new VaultError(
          'login',
          400,
          ['IAM Principal "arn:aws:sts::1:assumed-role/r/s" does not belong to the role "app"'],
          {},
        ),
      ),
    ).toBe('vault_login_failed');
    expect(loginErrorCode(new VaultUnreachableError('login', 'ECONNREFUSED'))).toBe('vault_unreachable');
    expect(loginErrorCode(new VaultIrsaError('other', 'x'))).toBe('login_failed');
    expect(loginErrorCode(new Error('Vault login answered without auth.client_token'))).toBe('login_failed');
  });
  it('detail adds the message, no detail the code only', () => {
    const login = {
      loggedIn: false,
      lastError: 'Vault login: 400 role "app" arn:aws:sts::1:x',
      lastErrorCode: 'vault_login_failed',
    };
    expect(loginNotReadyReason(login, true)).toBe(
      'not logged in to Vault yet: Vault login: 400 role "app" arn:aws:sts::1:x',
    );
    expect(loginNotReadyReason(login, false)).toBe('not logged in to Vault yet: vault_login_failed');
    expect(loginNotReadyReason({ loggedIn: false }, false)).toBe('not logged in to Vault yet');
    expect(loginNotReadyReason({ ...login, loggedIn: true }, true)).toBeUndefined();
  });
});
