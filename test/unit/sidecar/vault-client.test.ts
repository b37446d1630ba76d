import { getEventListeners } from 'node:events';
import {
  redirectTarget,
  VaultClient,
  VaultError,
  VaultRedirectError,
  VaultUnreachableError,
  type FetchLike,
} from '../../../sidecar/vault-client.js';

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

function stubFetch(answers: Answer[]) {
  const calls: Array<{ url: string; init: Record<string, unknown> }> = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, init });
    const a = answers.shift() ?? { status: 200, body: {} };
    if (a instanceof Error) throw a;
    const headers = new Map(Object.entries(a.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      status: a.status,
      headers: { get: (n: string) => headers.get(n.toLowerCase()) ?? null },
      text: async () => (a.body === undefined ? '' : JSON.stringify(a.body)),
    };
  };
  return { fetch, calls };
}

function client(answers: Answer[], extra: Partial<ConstructorParameters<typeof VaultClient>[0]> = {}) {
  const stub = stubFetch(answers);
  const sleeps: number[] = [];
  const observed: string[] = [];
  const c = new VaultClient({
    addr: 'https://vault.example.com',
    fetch: stub.fetch,
    retry: { attempts: 4, baseMs: 100, capMs: 1000 },
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    observe: (op, outcome) => observed.push(`${op}:${outcome}`),
    ...extra,
  });
  return { c, calls: stub.calls, sleeps, observed };
}

describe('VaultClient', () => {
  it('leaves nothing behind per call: no listener on the shutdown signal, no pending timeout timer', async () => {
    const shutdown = new AbortController();
    const answers: Answer[] = Array.from({ length: 50 }, (_, i) =>
      i % 5 === 4 ? new Error('reset') : { status: 200, body: {} },
    );
    const { c } = client(answers, {
      signal: shutdown.signal,
      timeoutMs: 600_000,
      retry: { attempts: 2, baseMs: 1, capMs: 1 },
    });
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let i = 0; i < 40; i++) await c.request('read', 'GET', 'secret/data/x', { token: 't' });
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    // each call's 10-minute timeout was cleared when the call ended (AbortSignal.timeout kept one per call)
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(timersBefore);
  });

  it('sends Vault headers, the token, the namespace and a timeout signal', async () => {
    const { c, calls } = client([{ status: 200, body: { data: { a: 1 } } }], { namespace: 'team-a' });
    const res = await c.request('read', 'GET', 'secret/data/x', { token: 'hvs.TOKEN' });
    expect(res).toEqual({ status: 200, body: { data: { a: 1 } } });
    expect(calls[0]?.url).toBe('https://vault.example.com/v1/secret/data/x');
    expect(calls[0]?.init.headers).toEqual({
      'X-Vault-Request': 'true',
      'X-Vault-Token': 'hvs.TOKEN',
      'X-Vault-Namespace': 'team-a',
    });
    expect(calls[0]?.init.signal).toBeInstanceOf(AbortSignal);
  });

  it('sends JSON bodies', async () => {
    const { c, calls } = client([{ status: 204 }]);
    await c.request('login', 'POST', 'auth/aws/login', { body: { role: 'app' } });
    expect(calls[0]?.init.body).toBe('{"role":"app"}');
    expect((calls[0]?.init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });

  it.each([412, 429, 500, 502, 503])('retries %d with backoff, then succeeds', async (status) => {
    const { c, calls, sleeps } = client([{ status }, { status }, { status: 200, body: {} }]);
    await c.request('read', 'GET', 'x');
    expect(calls).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]);
  });

  it('honours Retry-After on 429', async () => {
    const { c, sleeps } = client([
      { status: 429, headers: { 'Retry-After': '2' } },
      { status: 200, body: {} },
    ]);
    await c.request('read', 'GET', 'x');
    expect(sleeps).toEqual([2000]);
  });

  it('retries network errors and gives up with VaultUnreachableError', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const { c, calls, observed } = client([refused, refused, refused, refused]);
    await expect(c.request('read', 'GET', 'x')).rejects.toThrow(VaultUnreachableError);
    expect(calls).toHaveLength(4);
    expect(observed).toEqual(['read:network', 'read:network', 'read:network', 'read:network']);
    await expect(client([refused]).c.request('read', 'GET', 'x', { retry: false })).rejects.toThrow(/ECONNREFUSED/);
  });

  it.each([400, 403, 404])('does not retry %d and exposes Vault errors', async (status) => {
    const { c, calls } = client([{ status, body: { errors: ['permission denied'] } }]);
    const err = (await c.request('read', 'GET', 'x').catch((e: unknown) => e)) as VaultError;
    expect(err).toBeInstanceOf(VaultError);
    expect(err.status).toBe(status);
    expect(err.code).toBe('vault_http');
    expect(err.errors).toEqual(['permission denied']);
    expect(calls).toHaveLength(1);
  });

  it('times out a call that never answers', async () => {
    const hang: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) =>
        (init.signal as AbortSignal).addEventListener('abort', () => reject(new Error('aborted'))),
      );
    const c = new VaultClient({
      addr: 'http://x',
      fetch: hang,
      timeoutMs: 50,
      retry: { attempts: 1, baseMs: 1, capMs: 1 },
    });
    await expect(c.request('read', 'GET', 'x')).rejects.toThrow(/timed out/);
  });

  it('never puts the token into an error message', async () => {
    const { c } = client([{ status: 403, body: { errors: ['permission denied'] } }]);
    const err = (await c.request('read', 'GET', 'x', { token: 'hvs.SECRET-TOKEN' }).catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('hvs.SECRET-TOKEN');
  });

  it.each([
    ['/v1/x', 'https://vault.example.com/v1/x'],
    ['https://vault.example.com:443/v1/x', 'https://vault.example.com/v1/x'],
    ['https://VAULT.example.com/v1/x?y=1', 'https://vault.example.com/v1/x?y=1'],
  ])('follows a 307 to %s (same origin), token, method and body unchanged', async (location, followed) => {
    const { c, calls, observed } = client([
      { status: 307, headers: { location } },
      { status: 200, body: { ok: true } },
    ]);
    const res = await c.request('write', 'PUT', 'x', { token: 'hvs.T', body: { a: 1 } });
    expect(res.body).toEqual({ ok: true });
    expect(calls.map((x) => x.url)).toEqual(['https://vault.example.com/v1/x', followed]);
    expect(calls[1]!.init).toMatchObject({ method: 'PUT', body: '{"a":1}', headers: { 'X-Vault-Token': 'hvs.T' } });
    expect(observed).toEqual(['write:307', 'write:200']);
  });

  it.each([
    ['http://vault.example.com/v1/x', /another origin/],
    ['https://vault.example.com:8200/v1/x', /another origin/],
    ['https://evil.example.com/v1/x', /evil\.example\.com/],
    [undefined, /no Location/],
  ])('refuses a redirect to %s and sends nothing there', async (location, why) => {
    const { c, calls } = client([{ status: 307, headers: location ? { location } : {} }]);
    const err = (await c.request('read', 'GET', 'x', { token: 'hvs.T' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(VaultRedirectError);
    expect(err.message).toMatch(why);
    expect(err.message).not.toContain('hvs.T');
    expect(calls).toHaveLength(1);
  });

  it('a second redirect is refused (one hop only)', async () => {
    const { c, calls } = client([
      { status: 307, headers: { location: '/v1/y' } },
      { status: 307, headers: { location: '/v1/z' } },
    ]);
    await expect(c.request('read', 'GET', 'x')).rejects.toThrow(/second redirect/);
    expect(calls).toHaveLength(2);
    expect(redirectTarget('https://a/v1/x', '/v1/y', 1)).toMatchObject({ refused: expect.stringMatching(/second/) });
  });
});
