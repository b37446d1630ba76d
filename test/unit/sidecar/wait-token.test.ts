import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRequestToken, writeTokenFileAtomic } from '../../../sidecar/request-token.js';
import { probeTarget, runWait } from '../../../sidecar/wait.js';
import { memoize, sessionNameFor, REFRESH_WINDOW_MS } from '../../../sidecar/aws-credentials.js';

describe('request token file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vault-irsa-token-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('32 random bytes, different each time', () => {
    const a = generateRequestToken();
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(generateRequestToken()).not.toBe(a);
  });

  it('creates or replaces the file, world-readable, leaving no temp file', async () => {
    const path = join(dir, 'sub', 'token');
    await writeTokenFileAtomic(path, 'first');
    await writeTokenFileAtomic(path, 'second');
    expect(await readFile(path, 'utf8')).toBe('second');
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(await readdir(join(dir, 'sub'))).toEqual(['token']);
  });

  it('fails with the errno when the directory cannot be written', async () => {
    const blocker = join(dir, 'file');
    await writeFile(blocker, 'x');
    await expect(writeTokenFileAtomic(join(blocker, 'token'), 't')).rejects.toMatchObject({
      code: expect.stringMatching(/ENOTDIR|EEXIST/),
    });
  });
});

describe('wait', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('probes loopback even when the listener binds all addresses', () => {
    expect(probeTarget('0.0.0.0:8766')).toEqual({ host: '127.0.0.1', port: 8766 });
    expect(probeTarget('[::]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(probeTarget('127.0.0.1:1234')).toEqual({ host: '127.0.0.1', port: 1234 });
  });

  it('exits 0 once /readyz answers 200', async () => {
    let calls = 0;
    server = createServer((req, res) => {
      calls++;
      expect(req.url).toBe('/readyz');
      if (calls < 3) {
        res
          .writeHead(503, { 'content-type': 'application/json' })
          .end('{"error":{"code":"not_ready","message":"not yet"}}');
      } else res.writeHead(200).end('{"status":"ready"}');
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const lines: string[] = [];
    const code = await runWait(
      ['--timeout=20s'],
      { VAULT_IRSA_HEALTH_LISTEN: `0.0.0.0:${port}` },
      (l) => lines.push(l),
      (l) => lines.push(l),
    );
    expect(code).toBe(0);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(lines.join('\n')).toContain('ready');
  });

  it('exits 1 with the last reason after the timeout', async () => {
    server = createServer((_req, res) =>
      res.writeHead(503).end('{"error":{"code":"not_ready","message":"secret \\"db\\": permission denied"}}'),
    );
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const errs: string[] = [];
    const code = await runWait(
      ['--timeout=300ms'],
      { VAULT_IRSA_HEALTH_LISTEN: `127.0.0.1:${port}` },
      () => undefined,
      (l) => errs.push(l),
    );
    expect(code).toBe(1);
    expect(errs.join('\n')).toMatch(/not ready after .*permission denied/);
  });

  it('exits 2 on bad arguments', async () => {
    const errs: string[] = [];
    expect(
      await runWait(
        ['--nope'],
        {},
        () => undefined,
        (l) => errs.push(l),
      ),
    ).toBe(2);
    expect(
      await runWait(
        [],
        { VAULT_IRSA_WAIT_TIMEOUT: 'x' },
        () => undefined,
        (l) => errs.push(l),
      ),
    ).toBe(2);
    expect(errs.join('\n')).toContain('VAULT_IRSA_WAIT_TIMEOUT');
  });
});

describe('credential memoisation', () => {
  it('calls the provider once per lifetime and again inside the refresh window', async () => {
    let t = 0;
    let calls = 0;
    const p = memoize(
      async () => ({ accessKeyId: `A${++calls}`, secretAccessKey: 's', expiration: new Date(t + 3_600_000) }),
      () => t,
    );
    expect((await p()).accessKeyId).toBe('A1');
    expect((await p()).accessKeyId).toBe('A1');
    t = 3_600_000 - REFRESH_WINDOW_MS + 1;
    expect((await p()).accessKeyId).toBe('A2');
    expect(calls).toBe(2);
  });

  it('shares one inflight fetch, and keeps still-valid credentials when a refresh fails', async () => {
    let t = 0;
    let calls = 0;
    let fail = false;
    const p = memoize(
      async () => {
        calls++;
        if (fail) throw new Error('sts down');
        return { accessKeyId: 'A', secretAccessKey: 's', expiration: new Date(t + 600_000) };
      },
      () => t,
    );
    await Promise.all([p(), p(), p()]);
    expect(calls).toBe(1);
    fail = true;
    t = 400_000; // inside the window, still valid
    expect((await p()).accessKeyId).toBe('A');
    t = 590_000; // nearly expired: the error surfaces
    await expect(p()).rejects.toThrow('sts down');
  });

  it('derives an STS-valid session name from the pod name', () => {
    expect(sessionNameFor('my-app-7d9f8-abcde')).toBe('vault-irsa-my-app-7d9f8-abcde');
    expect(sessionNameFor(undefined)).toBe('vault-irsa-pod');
    expect(sessionNameFor('x'.repeat(100))).toHaveLength(64);
  });
});
