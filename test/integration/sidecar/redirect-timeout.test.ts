/**
 * Vault redirects (a standby answers 307) and the per-call timeout, against the Vault stand-in: the client
 * in-process for the exact rules, the built sidecar as a child for the wiring (VAULT_IRSA_VAULT_TIMEOUT).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { listen, closeServer } from '../../../stand-ins/server-util.js';
import { startStack, type StackExt } from '../../../stand-ins/stack.js';
import { VaultClient, VaultRedirectError } from '../../../sidecar/vault-client.js';
import { cleanup, startSidecar, waitFor, waitReady, type RunningSidecar } from './helpers.js';

let stack: StackExt;
/** another origin: records what reaches it, answers like Vault would */
let elsewhere: Server;
let elsewhereAddr: string;
const reachedElsewhere: Array<{ path: string | undefined; token: string | undefined }> = [];

beforeAll(async () => {
  stack = await startStack();
  elsewhere = createServer((req: IncomingMessage, res) => {
    reachedElsewhere.push({ path: req.url, token: req.headers['x-vault-token'] as string | undefined });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"data":{"data":{"stolen":"yes"},"metadata":{"version":1}}}');
  });
  elsewhereAddr = `http://127.0.0.1:${await listen(elsewhere)}`;
});

afterAll(async () => {
  await closeServer(elsewhere);
  await stack?.close();
});

const client = () => new VaultClient({ addr: stack.vault.addr, retry: { attempts: 1, baseMs: 1, capMs: 1 } });
const root = () => stack.vault.rootToken;

describe('a redirect from Vault', () => {
  it('is followed once to the same origin, with the token, the method and the body', async () => {
    stack.vault.clearRequests();
    stack.vault.injectRedirect({ pathPrefix: 'secret/data/my-app', times: 1 });
    const res = await client().request<{ data: { data: Record<string, unknown> } }>(
      'read',
      'GET',
      'secret/data/my-app',
      { token: root() },
    );
    expect(res.body.data.data).toMatchObject({ username: 'app-user' });
    const seen = stack.vault.requests.filter((r) => r.path === 'secret/data/my-app');
    expect(seen.map((r) => [r.status, r.token])).toEqual([
      [307, 'valid'],
      [200, 'valid'],
    ]);

    stack.vault.injectRedirect({ pathPrefix: 'secret/data/posted', times: 1 });
    await client().request('write', 'POST', 'secret/data/posted', { token: root(), body: { data: { k: 'v' } } });
    expect(stack.vault.readKv('secret', 'posted')).toEqual({ k: 'v' });
  });

  it('to another origin: an error naming it, and nothing (least of all the token) is sent there', async () => {
    stack.vault.injectRedirect({ pathPrefix: 'secret/data/my-app', times: 1, to: elsewhereAddr });
    const err = (await client()
      .request('read', 'GET', 'secret/data/my-app', { token: root() })
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(VaultRedirectError);
    expect(err.message).toContain(elsewhereAddr);
    expect(err.message).not.toContain(root());
    expect(reachedElsewhere).toEqual([]);
  });

  it('a second redirect in a row: an error, not followed', async () => {
    stack.vault.clearRequests();
    stack.vault.injectRedirect({ pathPrefix: 'secret/data/my-app', times: 2 });
    const err = (await client()
      .request('read', 'GET', 'secret/data/my-app', { token: root() })
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(VaultRedirectError);
    expect(err.message).toMatch(/second redirect/);
    expect(stack.vault.requests.filter((r) => r.path === 'secret/data/my-app')).toHaveLength(2);
  });
});

describe('the sidecar behind a standby that redirects', () => {
  let sidecar: RunningSidecar | undefined;
  afterEach(async () => {
    await cleanup(sidecar);
    sidecar = undefined;
  });

  it('logs in and reads through a same-origin 307', async () => {
    stack.vault.injectRedirect({ pathPrefix: 'auth/aws/login', times: 1 });
    stack.vault.injectRedirect({ pathPrefix: 'secret/data/my-app', times: 1 });
    sidecar = await startSidecar(stack.sidecarEnv({ VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app' }) }));
    await waitReady(sidecar);
    expect((await sidecar.get('/v1/secrets/app/username')).body).toBe('app-user');
    expect(stack.vault.requests.filter((r) => r.path === 'auth/aws/login').map((r) => r.status)).toEqual(
      expect.arrayContaining([307, 200]),
    );
  });

  it('VAULT_IRSA_VAULT_TIMEOUT bounds a call Vault never answers; the retry then reads', async () => {
    stack.vault.injectHang({ pathPrefix: 'secret/data/my-app', times: 1 });
    sidecar = await startSidecar(
      stack.sidecarEnv({
        VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app' }),
        VAULT_IRSA_VAULT_TIMEOUT: '1s',
      }),
    );
    // with the 60 s default this would not be ready within the wait below
    await waitReady(sidecar, 20_000);
    expect(stack.vault.requests.some((r) => r.path === 'secret/data/my-app' && r.status === 0)).toBe(true);
    await waitFor(async () => (await sidecar!.get('/v1/secrets/app/username')).body === 'app-user', 5000);
  });
});
