/** Sidecar config guards: paths the sidecar never reads, the IAM role ARN grammar, the Vault call timeout. */
import fc from 'fast-check';
import { isIamRoleArn, parseConfig } from '../../../sidecar/config.js';
import { ConfigError } from '../../../sidecar/errors.js';
import { checkRoleArn, PARTITIONS } from '../../../sidecar/contract/grammars.js';

const base = {
  VAULT_ADDR: 'https://vault.example.com:8200',
  VAULT_IRSA_ROLE: 'app',
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/app',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
};

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    parseConfig({ ...base, ...env });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('secret paths the sidecar never reads', () => {
  it.each([
    'auth/token/lookup-self',
    '/auth/token/lookup-self',
    '//auth/token/lookup-self',
    'AUTH/token/lookup-self',
    'Auth/Token/Lookup-Self',
    'auth',
    'sys/internal/ui/mounts/secret',
    'SYS/mounts',
    'identity/entity/id',
    '/identity/oidc/token/x',
    'cubbyhole/my-thing',
    'CubbyHole/x/',
  ])('%s: a ConfigError naming VAULT_IRSA_SECRETS, the secret and the path', (path) => {
    const err = configError({ VAULT_IRSA_SECRETS: JSON.stringify({ tok: path }) });
    expect(err.variable).toBe('VAULT_IRSA_SECRETS');
    expect(err.message).toContain('secret "tok"');
    expect(err.message).toContain(`"${path}"`);
  });

  it.each(['./auth/token/lookup-self', 'secret/../auth/token/lookup-self', 'x/./sys'])(
    '%s: refused as well (dot segments)',
    (path) => {
      const err = configError({ VAULT_IRSA_SECRETS: JSON.stringify({ tok: path }) });
      expect(err.variable).toBe('VAULT_IRSA_SECRETS');
      expect(err.message).toContain('secret "tok"');
    },
  );

  it('the class: any case and any leading slashes of every refused mount', () => {
    const mount = fc.constantFrom('auth', 'sys', 'identity', 'cubbyhole');
    const recase = (s: string, flips: boolean[]) =>
      [...s].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join('');
    fc.assert(
      fc.property(
        mount,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }),
        fc.nat(3),
        fc.stringMatching(/^[a-z0-9-]{0,12}(\/[a-z0-9-]{1,12}){0,3}$/),
        (m, flips, slashes, rest) => {
          const path = `${'/'.repeat(slashes)}${recase(m, flips)}${rest ? `/${rest}` : ''}`;
          expect(configError({ VAULT_IRSA_SECRETS: JSON.stringify({ s: path }) }).variable).toBe('VAULT_IRSA_SECRETS');
        },
      ),
    );
  });

  it('keeps paths that only contain those words further down, or as a longer first segment', () => {
    const c = parseConfig({
      ...base,
      VAULT_IRSA_SECRETS: JSON.stringify({
        a: 'secret/auth/db',
        b: 'kv/sys',
        c: 'authz/x',
        d: 'system-secrets/x',
        e: 'identity-kv/y',
      }),
    });
    expect(c.secrets.map((s) => s.path)).toEqual([
      'secret/auth/db',
      'kv/sys',
      'authz/x',
      'system-secrets/x',
      'identity-kv/y',
    ]);
  });
});

describe('IAM role ARN', () => {
  const path480 = `${'p'.repeat(100)}/${'q'.repeat(100)}/${'r'.repeat(100)}/${'s'.repeat(100)}/${'t'.repeat(74)}/`; // 479 + leading "/" = 480
  const long = `arn:aws:iam::123456789012:role/${path480}${'n'.repeat(60)}`;

  it('accepts a 480-character path and a 60-character name (the webhook does too)', () => {
    expect(1 + path480.length).toBe(480);
    expect(checkRoleArn(long)).toBeNull();
    expect(isIamRoleArn(long)).toBe(true);
    expect(parseConfig({ ...base, AWS_ROLE_ARN: long }).aws).toMatchObject({ kind: 'web-identity', roleArn: long });
  });

  it.each([
    ['arn:aws-cn:iam::123456789012:role/app', true],
    ['arn:aws-us-gov:iam::123456789012:role/a/b/app', true],
    ['arn:aws-iso-b:iam::123456789012:role/app', true],
    ['arn:aws-eusc:iam::123456789012:role/app', true],
    [`arn:aws:iam::123456789012:role/${'n'.repeat(64)}`, true],
    [`arn:aws:iam::123456789012:role/${'n'.repeat(65)}`, false],
    [`arn:aws:iam::123456789012:role/${'p'.repeat(511)}/app`, false], // path "/"+511+"/" = 513
    [`arn:aws:iam::123456789012:role/${'p'.repeat(510)}/app`, true], // 512
    ['arn:aws:iam::123456789012:role/', false],
    ['arn:aws:iam::123456789012:role/a//b', false],
    ['arn:aws:iam::12345678901:role/app', false],
    ['arn:aws:iam::123456789012:user/app', false],
    ['arn:awsx:iam::123456789012:role/app', false],
  ])('%s → %s', (arn, ok) => {
    expect(isIamRoleArn(arn)).toBe(ok);
  });

  it('accepts every ARN IAM can issue, as the webhook does (path <= 512, name <= 64)', () => {
    const ch = fc.constantFrom(...'abcXYZ019_+=,.@-'.split(''));
    const seg = fc.string({ unit: ch, minLength: 1, maxLength: 120 });
    const arn = fc
      .tuple(
        fc.constantFrom(...PARTITIONS.map((p) => p.id)),
        fc.stringMatching(/^\d{12}$/),
        fc.array(seg, { maxLength: 6 }),
        fc.string({ unit: ch, minLength: 1, maxLength: 64 }),
      )
      .filter(([, , segs]) => 1 + segs.reduce((n, s) => n + s.length + 1, 0) <= 512)
      .map(([p, acct, segs, name]) => `arn:${p}:iam::${acct}:role/${segs.map((s) => `${s}/`).join('')}${name}`);
    fc.assert(
      fc.property(arn, (a) => {
        expect(checkRoleArn(a)).toBeNull();
        expect(isIamRoleArn(a)).toBe(true);
      }),
    );
  });
});

describe('VAULT_IRSA_VAULT_TIMEOUT', () => {
  it("defaults to 60 s, as Vault's own client", () => {
    expect(parseConfig(base).vaultTimeoutMs).toBe(60_000);
  });
  it.each([
    ['90s', 90_000],
    ['2m', 120_000],
    ['15', 15_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseConfig({ ...base, VAULT_IRSA_VAULT_TIMEOUT: text }).vaultTimeoutMs).toBe(ms);
  });
  it.each(['soon', '10ms', '1h', '-5s'])('%s: a ConfigError naming it', (text) => {
    const err = configError({ VAULT_IRSA_VAULT_TIMEOUT: text });
    expect(err.variable).toBe('VAULT_IRSA_VAULT_TIMEOUT');
    expect(err.message).toContain(text);
  });
});
