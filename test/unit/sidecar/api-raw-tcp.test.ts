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
import { forwarded, hostHeader, method, originPath, requestTarget, rightAuthorization, spelled, wrongAuthorization } from './target-arbitraries.js';

const TOKEN = 'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZmdoaWo';
const VALUES = ['PLANTED-pw-5b1e7c', 'PLANTED-user-93af', 'PLANTED-nested-0c2d'];
const VAULT_PATH = 'kv/planted-path-77';
/** what Vault and STS said, with the identities they name: loopback /readyz may show it, the pod IP never */
const MESSAGES = ['PLANTED-vault-msg', 'arn:aws:iam::999988887777:role/planted', 'PLANTED-login-msg', 'assumed-role/planted-sess', '/var/run/planted/token'];
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
  ]);
  store.update('db', { data: { password: VALUES[0], username: VALUES[1], nested: { deep: VALUES[2] } }, version: 2, leaseDuration: 0 });
  store.fail('denied', { code: 'vault_permission_denied', status: 403, message: `PLANTED-vault-msg: ${MESSAGES[1]} may not read kv/planted-denied-path` });
  store.fail('pending', { code: 'vault_unavailable', status: 503, message: 'PLANTED-vault-msg: unreachable' });
  const login = { loggedIn: false, lastError: `PLANTED-login-msg: arn:aws:sts::999988887777:assumed-role/planted-sess (AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/planted/token)`, lastErrorCode: 'vault_login_failed' };
  const readiness = {
    notReadyReasons: (detail: boolean) => [loginNotReadyReason(login, detail) as string, ...store.notReadyReasons(detail)],
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

const names = { secret: 'db', key: 'password' };

function leaks(raw: string, planted: readonly string[]): string[] {
  return planted.filter((p) => raw.includes(p));
}

describe('the API listener over raw TCP', () => {
  it('the reported bypass: absolute-form targets without a token get 400 and no secret', async () => {
    for (const target of ['http://x/v1/secrets/db/password', 'HTTP://x/v1/secrets', 'https://127.0.0.1/v1/secrets/db', 'http://user@host/v1/secrets/db', 'hTtP://127.0.0.1:1/v1/secrets/db?wait=1s']) {
      for (const m of ['GET', 'HEAD']) {
        const r = await rawRequest(apiPort, requestBytes(m, target, [['Host', '127.0.0.1'], ['Connection', 'close']]));
        expect(r.status).toBe(400);
        expect(r.headers['cache-control']).toBe('no-store');
        if (m === 'GET') expect(JSON.parse(r.body)).toEqual({ error: { code: 'bad_request', message: expect.stringContaining('absolute-form') } });
        expect(leaks(r.raw, VALUES)).toEqual([]);
      }
    }
  });

  it('property: without the right token, no 2xx but the probes, and no byte of a secret value', async () => {
    await fc.assert(
      fc.asyncProperty(method, requestTarget(names), hostHeader(0), wrongAuthorization(TOKEN), forwarded, async (m, target, host, authorization, fwd) => {
        const r = await rawRequest(apiPort, requestBytes(m, target, [['Host', host], ['Authorization', authorization], ...fwd, ['Connection', 'close']]));
        expect(r.status).toBeDefined();
        expect(leaks(r.raw, VALUES)).toEqual([]);
        if ((r.status as number) < 300) {
          // a HEAD answer has no body: its length must be a probe's
          if (m === 'HEAD') expect(PROBE_BODIES.map((b) => String(b.length))).toContain(r.headers['content-length']);
          else expect(PROBE_BODIES).toContain(r.body);
        }
        expect(r.headers['cache-control']).toBe('no-store');
      }),
      { numRuns: 1000 },
    );
  });

  it('property: with the right token, any spelling of the key read that decodes to it answers the value', async () => {
    const path = fc.tuple(spelledNoCase('v1'), spelledNoCase('secrets'), spelledNoCase('db'), spelledNoCase('password')).map((s) => `/${s.join('/')}`);
    await fc.assert(
      fc.asyncProperty(path, rightAuthorization(TOKEN), fc.constantFrom('127.0.0.1', 'localhost', '[::1]', `LOCALHOST:${apiPort}`), async (target, authorization, host) => {
        const r = await rawRequest(apiPort, requestBytes('GET', target, [['Host', host], ['Authorization', authorization], ['Connection', 'close']]));
        expect(r.status).toBe(200);
        expect(r.body).toBe(VALUES[0]);
      }),
      { numRuns: 150 },
    );
  });

  it('property: with the right token, 200 only for the paths the router maps', async () => {
    await fc.assert(
      fc.asyncProperty(originPath(names), async (target) => {
        const r = await rawRequest(apiPort, requestBytes('GET', target, [['Host', 'localhost'], ['Authorization', `Bearer ${TOKEN}`], ['Connection', 'close']]));
        expect([200, 304, 400, 403, 404, 431, 503]).toContain(r.status);
        if (r.status === 200) {
          // only what the router maps: the list, the secret, one of its keys, a probe
          expect(/^\/v1\/secrets(\/db(\/(password|username|nested))?)?$|^\/(healthz|readyz)$/.test(decodeURIComponent(target.split('?')[0] as string))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('the health listener over raw TCP', () => {
  it('property: never a secret value, a Vault path, or what Vault or STS said, whatever the request and token', async () => {
    const auth = fc.oneof(wrongAuthorization(TOKEN), rightAuthorization(TOKEN));
    await fc.assert(
      fc.asyncProperty(method, requestTarget(names), hostHeader(healthPort), auth, forwarded, async (m, target, host, authorization, fwd) => {
        const r = await rawRequest(healthPort, requestBytes(m, target, [['Host', host], ['Authorization', authorization], ...fwd, ['Connection', 'close']]));
        expect(r.status).toBeDefined();
        expect(leaks(r.raw, [...VALUES, VAULT_PATH, 'planted-denied-path', 'planted-pending-path', ...MESSAGES])).toEqual([]);
        expect(r.headers['cache-control']).toBe('no-store');
      }),
      { numRuns: 400 },
    );
  });

  it('/readyz on the pod IP gives names and codes; loopback gives the messages', async () => {
    const pod = await rawRequest(healthPort, requestBytes('GET', '/readyz', [['Host', '10.1.2.3:8766'], ['Connection', 'close']]));
    expect(pod.status).toBe(503);
    expect(JSON.parse(pod.body).error.message).toBe(
      'not logged in to Vault yet: vault_login_failed; secret "denied": vault_permission_denied; secret "pending": vault_unavailable',
    );
    const loop = await rawRequest(apiPort, requestBytes('GET', '/readyz', [['Host', '127.0.0.1'], ['Connection', 'close']]));
    expect(loop.body).toContain('PLANTED-login-msg');
  });
});

/** `word` with any characters percent-encoded, never case-flipped (routes are case-sensitive). */
function spelledNoCase(word: string): fc.Arbitrary<string> {
  return spelled(word).filter((s) => decodeURIComponent(s) === word);
}
