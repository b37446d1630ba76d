/**
 * fast-check generators for requests an attacker on the pod's loopback (or the cluster network) could
 * send: request targets in every form, paths that decode or normalise to a protected route, tokens in odd
 * spellings, proxies' headers, Host variants.
 */
import fc from 'fast-check';

/** A character percent-encoded, in either hex case. */
const pct = (ch: string, upper: boolean): string => {
  const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? hex.toUpperCase() : hex.toLowerCase()}`;
};

/** `word` as is (half the time), or with any of its characters percent-encoded and any letter's case flipped. */
export function spelled(word: string): fc.Arbitrary<string> {
  if (word === '') return fc.constant('');
  const mixed = fc
    .array(fc.constantFrom<'plain' | 'pct' | 'PCT' | 'case'>('plain', 'plain', 'pct', 'PCT', 'case'), {
      minLength: word.length,
      maxLength: word.length,
    })
    .map((how) =>
      [...word]
        .map((ch, i) => {
          const h = how[i];
          if (h === 'pct') return pct(ch, false);
          if (h === 'PCT') return pct(ch, true);
          if (h === 'case') return ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase();
          return ch;
        })
        .join(''),
    );
  return fc.oneof(fc.constant(word), mixed);
}

/**
 * What a test names: a declared secret and one of its keys (the /v1/secrets API), and optionally the Vault
 * view's paths (each route as its segments after /v1/, e.g. ['secret', 'data', 'my-app'], ['sys', 'health']).
 */
export interface Names {
  secret: string;
  key: string;
  vaultRoutes?: ReadonlyArray<readonly string[]>;
}

/** The Vault view's routes the sidecar answers whatever is declared. */
export const VAULT_HELPER_ROUTES: ReadonlyArray<readonly string[]> = [
  ['sys', 'health'],
  ['auth', 'token', 'lookup-self'],
  ['auth', 'token', 'renew-self'],
];

/** Path pieces that name protected routes, their neighbours and the tricks around them. */
export function segment(names: Names): fc.Arbitrary<string> {
  const vaultWords = [...new Set((names.vaultRoutes ?? []).flat())];
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom('v1', 'secrets', names.secret, names.key, 'healthz', 'readyz', 'metrics', ...vaultWords)
        .chain(spelled),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '.',
        '..',
        '%2e',
        '%2E',
        '%2e%2e',
        '.%2E',
        '%2f',
        '%2F',
        '%5c',
        '\\',
        '',
        '%00',
        '%',
        '%zz',
        '%E0%A4%A',
        ';',
        '..;',
        'v1;x=1',
      ),
    },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~%-]{0,12}$/) },
  );
}

export function originPath(names: Names): fc.Arbitrary<string> {
  const tail = fc.constantFrom(
    '',
    '',
    '',
    '/',
    '?wait=1ms',
    '?wait=',
    '?x=%zz',
    '?wait=1ms&wait=2ms',
    '#frag',
    '?a=b#c',
    '?',
  );
  const random = fc
    .tuple(
      fc.array(segment(names), { minLength: 0, maxLength: 6 }),
      fc.constantFrom('/', '/', '/', '//', '/./', '/../'),
      tail,
    )
    .map(([segs, sep, t]) => `/${segs.join(sep)}${t}`);
  // the routes themselves, spelled in every way, with a trick spliced in somewhere
  const trick = fc.constantFrom('', '', '', '', '/', '/.', '/%2e', '/x/..', '/x/%2e%2e', '/%2f', '/;');
  const routeShaped = fc
    .tuple(
      fc.constantFrom<string[]>(
        ['v1', 'secrets'],
        ['v1', 'secrets', names.secret],
        ['v1', 'secrets', names.secret, names.key],
        ['healthz'],
        ['readyz'],
        ['metrics'],
        ...(names.vaultRoutes ?? []).map((r) => ['v1', ...r]),
      ),
      fc.nat(4),
      trick,
      fc.constantFrom('', '', '/'),
      tail,
    )
    .chain(([segs, at, t, lead, q]) =>
      fc.tuple(...segs.map(spelled)).map((spelt) => {
        const parts = spelt.map((x) => `/${x}`);
        parts.splice(Math.min(at, parts.length), 0, t);
        return `${lead}${parts.join('')}${q}`;
      }),
    );
  return fc.oneof({ weight: 1, arbitrary: random }, { weight: 2, arbitrary: routeShaped });
}

/** Any request target: origin-form and every form the API must refuse. */
export function requestTarget(names: Names): fc.Arbitrary<string> {
  const vaultTargets = (names.vaultRoutes ?? []).flatMap((r) => [
    `/v1/${r.join('/')}`,
    `/v1/${r.join('/')}?version=1`,
    `/v1/${r.join('/')}?list=true`,
  ]);
  const origin = fc.oneof(
    originPath(names),
    fc.constantFrom(
      '/v1/secrets',
      `/v1/secrets/${names.secret}`,
      `/v1/secrets/${names.secret}/${names.key}`,
      `/v1/secrets/${names.secret}?wait=1ms`,
      ...vaultTargets,
    ),
  );
  const scheme = fc.constantFrom('http', 'https', 'ws', 'ftp', 'x-y').chain(spelled);
  const userinfo = fc.constantFrom('', 'user@', 'user:pass@', '%40@', 'a:b:c@');
  const authority = fc.constantFrom(
    '127.0.0.1',
    'localhost',
    '[::1]',
    'x',
    'evil.example',
    '127.0.0.1:8765',
    'LOCALHOST:1',
  );
  const absolute = fc
    .tuple(scheme, fc.constantFrom('://', '://', '://', ':/', ':', ':///'), userinfo, authority, origin)
    .map(([s, sep, u, a, p]) => `${s}${sep}${u}${a}${p}`);
  const long = fc
    .tuple(origin, fc.integer({ min: 1, max: 12_000 }), fc.constantFrom('a', '%61', '/', '../'))
    .map(([p, n, c]) => `${p}${c.repeat(Math.ceil(n / c.length))}`);
  return fc.oneof(
    { weight: 8, arbitrary: origin },
    { weight: 4, arbitrary: absolute },
    {
      weight: 1,
      arbitrary: fc.constantFrom('*', 'localhost:8765', '127.0.0.1:80', 'v1/secrets', '?/v1/secrets', '\\v1\\secrets'),
    },
    { weight: 1, arbitrary: long },
  );
}

/** An Authorization header that does NOT present `token` (per the contract: `Bearer <token>`). */
export function wrongAuthorization(token: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      '',
      'Bearer',
      'Bearer ',
      'Bearer wrong',
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      `Bearer x${token}`,
      `Bearer ${token.toUpperCase()}`,
      `Bearer ${token} ${token}`,
      `Bearer "${token}"`,
      `Bearer:${token}`,
      `Bearer=${token}`,
      `Basic ${token}`,
      `Basic ${Buffer.from(`x:${token}`).toString('base64')}`,
      `Token ${token}`,
      `${token}`,
      `Bearer ${encodeURIComponent(token)}%00`,
      `Bearer ${token.slice(0, 20)}`,
      `Bearer\u00a0${token}`,
    ),
    fc.string({ maxLength: 60 }).map((s) => `Bearer ${s.replace(/[\r\n]/g, '')}`),
  );
}

/**
 * An X-Vault-Token header that does NOT present `token`. Not in the list: the token with blanks around it,
 * which HTTP strips before anyone reads the value (it is the token).
 */
export function wrongVaultToken(token: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      '',
      'wrong',
      `${token}x`,
      `x${token}`,
      token.slice(0, -1),
      token.slice(1),
      token.toUpperCase(),
      `Bearer ${token}`,
      `${token}, ${token}`,
      `${token},${token}`,
      `"${token}"`,
      encodeURIComponent(`${token}\u0000`),
      `${token.slice(0, -1)}${token.slice(-1) === 'a' ? 'b' : 'a'}`,
      `${token}\u00a0`,
    ),
    fc
      .string({ maxLength: 60 })
      .map((s) => s.replace(/[\r\n]/g, '').trim())
      .filter((s) => s !== token),
  );
}

/** The right token in spellings the contract allows: `Bearer`, any case, any run of blanks. */
export function rightAuthorization(token: string): fc.Arbitrary<string> {
  return fc
    .tuple(spelledCase('Bearer'), fc.constantFrom(' ', '  ', '\t', ' \t'), fc.constantFrom('', ' '))
    .map(([b, ws, trail]) => `${b}${ws}${token}${trail}`);
}

function spelledCase(word: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((up) => [...word].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
}

export const method = fc.constantFrom(
  'GET',
  'GET',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'TRACE',
);

export function hostHeader(port: number): fc.Arbitrary<string | undefined> {
  return fc.constantFrom(
    '127.0.0.1',
    `127.0.0.1:${port}`,
    'localhost',
    `LocalHost:${port}`,
    '[::1]',
    `[::1]:${port}`,
    undefined,
    'evil.example',
    `rebind.example:${port}`,
    '127.0.0.2',
    'localhost.',
    '',
  );
}

export const forwarded = fc.constantFrom<Array<[string, string]>>(
  [],
  [],
  [],
  [['X-Forwarded-For', '10.0.0.1']],
  [['Forwarded', 'for=10.0.0.1']],
  [['X-Real-IP', '10.0.0.1']],
);
