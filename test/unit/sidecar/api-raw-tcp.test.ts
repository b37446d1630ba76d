/**
 * Both listeners over raw TCP, requests exactly as an attacker in the pod (or on the cluster network) could
 * write them. Before the rewrite, `GET http://x/v1/secrets/db/password HTTP/1.1` without a token answered
 * the secret: the token check looked at the raw target, the router at a normalised one.
 */
import fc from 'fast-check';
import { buildApiApp } from '../../../sidecar/api.js';
import { buildHealthApp } from '../../../sidecar/health.js';
import type { HttpListener } from '../../../sidecar/http/listener.js';
import { Metrics } from '../../../sidecar/metrics.js';
import { loginNotReadyReason } from '../../../sidecar/readiness.js';
import { SecretStore } from '../../../sidecar/secret-store.js';
import { rawRequest, requestBytes } from './raw-http.js';
import {
  forwarded,
  hostHeader,
  method,
  originPath,
  requestTarget,
  rightAuthorization,
  spelled,
  VAULT_HELPER_ROUTES,
  wrongAuthorization,
  wrongVaultToken,
} from './target-arbitraries.js';

const TOKEN = 'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZmdoaWo';
const VALUES = [
  'PLANTED-pw-5b1e7c',
  'PLANTED-user-93af',
  'PLANTED-nested-0c2d',
  'PLANTED-dyn-pw-41aa',
  'PLANTED-lease-9f3e',
];
const VAULT_PATH = 'kv/planted-path-77';
/** the Vault view's paths for what is declared here, and the routes it answers whatever is declared */
const VAULT_ROUTES = [
  ['kv', 'data', 'planted-path-77'],
  ['dyn', 'creds', 'planted'],
  ['sys', 'internal', 'ui', 'mounts', 'kv', 'planted-path-77'],
  ...VAULT_HELPER_ROUTES,
];
/** what Vault and STS said, with the identities they name: loopback /readyz may show it, the pod IP never */
const MESSAGES = [
  'PLANTED-vault-msg',
  'arn:aws:iam::999988887777:role/planted',
  'PLANTED-login-msg',
  'assumed-role/planted-sess',
  '/var/run/planted/token',
];
const PROBE_BODIES = ['{"status":"ok"}', '{"status":"ready"}'];

let store: SecretStore;
let api: HttpListener;
let health: HttpListener;
let apiPort: number;
let healthPort: number;

beforeAll(async () => {
  store = new SecretStore([
    { name: 'db', path: VAULT_PATH },
    { name: 'denied', path: 'kv/planted-denied-path' },
    { name: 'pending', path: 'kv/planted-pending-path' },
    { name: 'dyn', path: 'dyn/creds/planted' },
  ]);
  const kv = { path: 'kv/', type: 'kv', kvVersion: 2 as const };
  store.update('db', {
    data: { password: VALUES[0], username: VALUES[1], nested: { deep: VALUES[2] } },
    version: 2,
    leaseDuration: 0,
    vault: {
      apiPath: 'kv/data/planted-path-77',
      kind: 'kv2',
      mount: kv,
      leaseId: undefined,
      renewable: false,
      metadata: undefined,
    },
  });
  store.update('dyn', {
    data: { password: VALUES[3] },
    version: 0,
    leaseDuration: 600,
    vault: {
      apiPath: 'dyn/creds/planted',
      kind: 'other',
      mount: { path: 'dyn/', type: 'database' },
      leaseId: `dyn/creds/planted/${VALUES[4]}`,
      renewable: true,
      metadata: undefined,
    },
  });
  store.fail('denied', {
    code: 'vault_permission_denied',
    status: 403,
    message: `PLANTED-vault-msg: ${MESSAGES[1]} may not read kv/planted-denied-path`,
  });
  store.fail('pending', { code: 'vault_unavailable', status: 503, message: 'PLANTED-vault-msg: unreachable' });
  const login = {
    loggedIn: false,
    lastError: `PLANTED-login-msg: arn:aws:sts::999988887777:assumed-role/planted-sess (AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/planted/token)`,
    lastErrorCode: 'vault_login_failed',
  };
  const readiness = {
    notReadyReasons: (detail: boolean) => [
      loginNotReadyReason(login, detail) as string,
      ...store.notReadyReasons(detail),
    ],
  };
  const metrics = new Metrics({ defaultMetrics: false });
  api = buildApiApp({ store, requestToken: TOKEN, readiness, metrics, maxWaitMs: 5 });
  health = buildHealthApp({ readiness, metrics });
  await api.listen({ host: '127.0.0.1', port: 0 });
  await health.listen({ host: '127.0.0.1', port: 0 });
  apiPort = (api.server.address() as { port: number }).port;
  healthPort = (health.server.address() as { port: number }).port;
});
afterAll(async () => {
  store.close();
  await Promise.all([api.close(), health.close()]);
});

const names = { secret: 'db', key: 'password', vaultRoutes: VAULT_ROUTES };

function leaks(raw: string, planted: readonly string[]): string[] {
  return planted.filter((p) => raw.includes(p));
}

describe('the API listener over raw TCP', () => {
  it('the reported bypass: absolute-form targets without a token get 400 and no secret', async () => {
    for (const target of [
      'http://x/v1/secrets/db/password',
      'HTTP://x/v1/secrets',
      'https://127.0.0.1/v1/secrets/db',
      'http://user@host/v1/secrets/db',
      'hTtP://127.0.0.1:1/v1/secrets/db?wait=1s',
    ]) {
      for (const m of ['GET', 'HEAD']) {
        const r = await rawRequest(
          apiPort,
          requestBytes(m, target, [
            ['Host', '127.0.0.1'],
            ['Connection', 'close'],
          ]),
        );
        expect(r.status).toBe(400);
        expect(r.headers['cache-control']).toBe('no-store');
        if (m === 'GET')
          expect(JSON.parse(r.body)).toEqual({
            error: { code: 'bad_request', message: expect.stringContaining('absolute-form') },
          });
        expect(leaks(r.raw, VALUES)).toEqual([]);
      }
    }
  });

  it('property: without the right token in either header, no 2xx but the probes, and no byte of a secret value', async () => {
    await fc.assert(
      fc.asyncProperty(
        method,
        requestTarget(names),
        hostHeader(0),
        wrongAuthorization(TOKEN),
        wrongVaultToken(TOKEN),
        forwarded,
        async (m, target, host, authorization, vaultToken, fwd) => {
          const r = await rawRequest(
            apiPort,
            requestBytes(m, target, [
              ['Host', host],
              ['Authorization', authorization],
              ['X-Vault-Token', vaultToken],
              ['X-Vault-Request', 'true'],
              ...fwd,
              ['Connection', 'close'],
            ]),
          );
          expect(r.status).toBeDefined();
          expect(leaks(r.raw, VALUES)).toEqual([]);
          if ((r.status as number) < 300) {
            // a HEAD answer has no body: its length must be a probe's
            if (m === 'HEAD') expect(PROBE_BODIES.map((b) => String(b.length))).toContain(r.headers['content-length']);
            else expect(PROBE_BODIES).toContain(r.body);
          }
          expect(r.headers['cache-control']).toBe('no-store');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: on the Vault paths, the right token beside a wrong one (in the other header) is refused like no token', async () => {
    const vaultPath = fc.constantFrom(...VAULT_ROUTES.map((r) => `/v1/${r.join('/')}`));
    // headers that reach the check as sent: a Bearer credential of printable ASCII (another spelling presents
    // no token at all), a value node's parser takes (no control characters)
    const wrongBearer = wrongAuthorization(TOKEN).filter(
      (a) => a !== undefined && /^Bearer[ \t]+[\x21-\x7e]+[ \t]*$/i.test(a),
    );
    const wrongHeader = wrongVaultToken(TOKEN).filter(
      (x) => x !== undefined && ![...x].some((c) => (c < ' ' && c !== '\t') || c === '\x7f'),
    );
    const pair = fc.oneof(fc.tuple(rightAuthorization(TOKEN), wrongHeader), fc.tuple(wrongBearer, fc.constant(TOKEN)));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'PUT', 'POST'),
        vaultPath,
        pair,
        async (m, target, [authorization, vaultToken]) => {
          const r = await rawRequest(
            apiPort,
            requestBytes(m, target, [
              ['Host', '127.0.0.1'],
              ['Authorization', authorization],
              ['X-Vault-Token', vaultToken],
              ['Connection', 'close'],
            ]),
          );
          expect(r.status).toBe(403);
          expect(leaks(r.raw, [...VALUES, TOKEN])).toEqual([]);
          if (m !== 'HEAD') expect(JSON.parse(r.body)).toEqual({ errors: ['permission denied'] });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: with the right X-Vault-Token, any spelling of a Vault read that decodes to it answers the value', async () => {
    const path = fc
      .tuple(spelledNoCase('v1'), spelledNoCase('kv'), spelledNoCase('data'), spelledNoCase('planted-path-77'))
      .map((s) => `/${s.join('/')}`);
    await fc.assert(
      fc.asyncProperty(path, fc.constantFrom('127.0.0.1', 'localhost', '[::1]'), async (target, host) => {
        const r = await rawRequest(
          apiPort,
          requestBytes('GET', target, [
            ['Host', host],
            ['X-Vault-Token', TOKEN],
            ['Connection', 'close'],
          ]),
        );
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body).data.data.password).toBe(VALUES[0]);
      }),
      { numRuns: 100 },
    );
  });

  it('property: with the right token, any spelling of the key read that decodes to it answers the value', async () => {
    const path = fc
      .tuple(spelledNoCase('v1'), spelledNoCase('secrets'), spelledNoCase('db'), spelledNoCase('password'))
      .map((s) => `/${s.join('/')}`);
    await fc.assert(
      fc.asyncProperty(
        path,
        rightAuthorization(TOKEN),
        fc.constantFrom('127.0.0.1', 'localhost', '[::1]', `LOCALHOST:${apiPort}`),
        async (target, authorization, host) => {
          const r = await rawRequest(
            apiPort,
            requestBytes('GET', target, [
              ['Host', host],
              ['Authorization', authorization],
              ['Connection', 'close'],
            ]),
          );
          expect(r.status).toBe(200);
          expect(r.body).toBe(VALUES[0]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('property: with the right token (either header), 200 only for the paths the router maps', async () => {
    const tokenHeader = fc.constantFrom<Array<[string, string]>>(
      [['Authorization', `Bearer ${TOKEN}`]],
      [['X-Vault-Token', TOKEN]],
      [
        ['Authorization', `Bearer ${TOKEN}`],
        ['X-Vault-Token', TOKEN],
      ],
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE'),
        originPath(names),
        tokenHeader,
        async (m, target, auth) => {
          const r = await rawRequest(
            apiPort,
            requestBytes(m, target, [['Host', 'localhost'], ...auth, ['Connection', 'close']]),
          );
          expect([200, 304, 400, 401, 403, 404, 405, 431, 503]).toContain(r.status);
          if (r.status === 200) {
            // only what the router maps: the list, the secret, one of its keys, a probe; the Vault view's reads and helpers
            const path = decodeURIComponent(target.split('?')[0] as string);
            const own = /^\/v1\/secrets(\/db(\/(password|username|nested))?)?$|^\/(healthz|readyz)$/.test(path);
            const vault =
              /^\/v1\/(kv\/data\/planted-path-77|dyn\/creds\/planted|sys\/health|auth\/token\/(lookup-self|renew-self)|sys\/internal\/ui\/mounts\/(kv|dyn)(\/.*)?)$/.test(
                path,
              );
            expect(own || vault).toBe(true);
            // writes: renew-self only
            if (m !== 'GET' && m !== 'HEAD') expect(path).toBe('/v1/auth/token/renew-self');
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('the health listener over raw TCP', () => {
  it('property: never a secret value, a Vault path, or what Vault or STS said, whatever the request and token', async () => {
    const auth = fc.oneof(wrongAuthorization(TOKEN), rightAuthorization(TOKEN));
    await fc.assert(
      fc.asyncProperty(
        method,
        requestTarget(names),
        hostHeader(healthPort),
        auth,
        forwarded,
        async (m, target, host, authorization, fwd) => {
          const r = await rawRequest(
            healthPort,
            requestBytes(m, target, [
              ['Host', host],
              ['Authorization', authorization],
              ...fwd,
              ['Connection', 'close'],
            ]),
          );
          expect(r.status).toBeDefined();
          expect(
            leaks(r.raw, [...VALUES, VAULT_PATH, 'planted-denied-path', 'planted-pending-path', ...MESSAGES]),
          ).toEqual([]);
          expect(r.headers['cache-control']).toBe('no-store');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('/readyz on the pod IP gives names and codes; loopback gives the messages', async () => {
    const pod = await rawRequest(
      healthPort,
      requestBytes('GET', '/readyz', [
        ['Host', '10.1.2.3:8766'],
        ['Connection', 'close'],
      ]),
    );
    expect(pod.status).toBe(503);
    expect(JSON.parse(pod.body).error.message).toBe(
      'not logged in to Vault yet: vault_login_failed; secret "denied": vault_permission_denied; secret "pending": vault_unavailable',
    );
    const loop = await rawRequest(
      apiPort,
      requestBytes('GET', '/readyz', [
        ['Host', '127.0.0.1'],
        ['Connection', 'close'],
      ]),
    );
    expect(loop.body).toContain('PLANTED-login-msg');
  });
});

/** `word` with any characters percent-encoded, never case-flipped (routes are case-sensitive). */
function spelledNoCase(word: string): fc.Arbitrary<string> {
  return spelled(word).filter((s) => decodeURIComponent(s) === word);
}
