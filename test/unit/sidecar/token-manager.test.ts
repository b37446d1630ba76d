import { Writable } from 'node:stream';
import { createLogger } from '../../../sidecar/logger.js';
import { TokenManager } from '../../../sidecar/token-manager.js';
import { VaultClient, type FetchLike } from '../../../sidecar/vault-client.js';
import { waitFor } from '../../../stand-ins/child.js';

type Handler = (path: string, body: unknown, token: string | undefined) => { status: number; body?: unknown };

function harness(handler: Handler, now?: () => number) {
  const seen: string[] = [];
  const fetch: FetchLike = async (url, init) => {
    const path = url.replace(/^.*?\/v1\//, '');
    const token = (init.headers as Record<string, string>)['X-Vault-Token'];
    seen.push(path);
    const r = handler(path, init.body ? JSON.parse(String(init.body)) : undefined, token);
    return {
      status: r.status,
      headers: { get: () => null },
      text: async () => (r.body === undefined ? '' : JSON.stringify(r.body)),
    };
  };
  const vault = new VaultClient({ addr: 'http://vault', fetch, retry: { attempts: 1, baseMs: 1, capMs: 1 } });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const tm = new TokenManager({
    vault,
    credentials: async () => ({ accessKeyId: 'ASIAX', secretAccessKey: 'secret', sessionToken: 'session' }),
    role: 'app',
    authMount: 'aws',
    stsRegion: 'us-east-1',
    log: createLogger('silent', sink),
    loginBackoff: { baseMs: 10, capMs: 20 },
    ...(now ? { now } : {}),
  });
  return { tm, seen };
}

let n = 0;
const login = (ttl: number) => ({
  status: 200,
  body: { auth: { client_token: `hvs.t${++n}`, lease_duration: ttl, renewable: true } },
});

describe('TokenManager', () => {
  let tm: TokenManager | undefined;
  afterEach(async () => {
    await tm?.stop(100);
    tm = undefined;
  });

  it('signs a fresh IAM login body and hands out the token', async () => {
    let body: Record<string, unknown> | undefined;
    const h = harness((path, b) => {
      if (path === 'auth/aws/login') {
        body = b as Record<string, unknown>;
        return login(3600);
      }
      return { status: 204 };
    });
    tm = h.tm;
    tm.start();
    expect(await tm.token()).toMatch(/^hvs\.t\d+$/);
    expect(body).toMatchObject({ role: 'app', iam_http_request_method: 'POST' });
  });

  it('logs in again when a renewal fails', async () => {
    const h = harness((path) => {
      if (path === 'auth/aws/login') return login(1);
      if (path === 'auth/token/renew-self') return { status: 500, body: { errors: ['internal error'] } };
      return { status: 204 };
    });
    tm = h.tm;
    tm.start();
    const first = await tm.token();
    await waitFor(() => h.seen.filter((p) => p === 'auth/aws/login').length >= 2, 10_000);
    expect(h.seen).toContain('auth/token/renew-self');
    await waitFor(() => tm?.current() !== first, 5000);
  });

  it('tells a dead token from a policy denial with lookup-self', async () => {
    let dead = false;
    const h = harness((path, _b, token) => {
      if (path === 'auth/aws/login') return login(3600);
      if (path === 'auth/token/lookup-self')
        return dead && token === 'hvs.dead'
          ? { status: 403, body: { errors: ['permission denied'] } }
          : { status: 200, body: { data: {} } };
      return { status: 204 };
    });
    tm = h.tm;
    tm.start();
    const t = await tm.token();
    expect(await tm.handleForbidden(t)).toBe(false); // policy: keep the token
    expect(tm.current()).toBe(t);
    // simulate: the current token died
    dead = true;
    (tm as unknown as { tokenValue: string }).tokenValue = 'hvs.dead';
    expect(await tm.handleForbidden('hvs.dead')).toBe(true);
    expect(tm.current()).not.toBe('hvs.dead');
    expect(h.seen.filter((p) => p === 'auth/aws/login')).toHaveLength(2);
  });

  it('revokes the token on stop, once, and never throws', async () => {
    const h = harness((path) => (path === 'auth/aws/login' ? login(3600) : { status: 503 }));
    tm = h.tm;
    tm.start();
    await tm.token();
    await tm.stop(100);
    expect(h.seen.filter((p) => p === 'auth/token/revoke-self')).toHaveLength(1);
    expect(tm.current()).toBeUndefined();
  });

  it('on stop revokes the current token and the ones a re-login replaced that are still alive', async () => {
    const revoked: string[] = [];
    // the clock the manager judges "still alive" by: frozen inside the first token's life before stop, so a
    // loaded machine that notices the re-login late cannot make the first token look expired
    let firstLoginAt: number | undefined;
    let frozen: number | undefined = undefined;
    const h = harness(
      (path, _b, token) => {
        if (path === 'auth/aws/login') {
          firstLoginAt ??= Date.now();
          return login(3);
        }
        if (path === 'auth/token/renew-self') return { status: 500, body: { errors: ['internal error'] } };
        if (path === 'auth/token/revoke-self') {
          revoked.push(token as string);
          return { status: 204 };
        }
        return { status: 204 };
      },
      () => frozen ?? Date.now(),
    );
    const m = h.tm;
    m.start();
    const first = await m.token();
    await waitFor(() => m.current() !== undefined && m.current() !== first, 10_000);
    const second = m.current() as string;
    frozen = (firstLoginAt as number) + 2_500;
    await m.stop(100);
    // the first token lives 3 s and was replaced 2 s in (failed renewal): at 2.5 s still alive, so revoked too
    expect(revoked.sort()).toEqual([first, second].sort());
  });
});
