/**
 * The built sidecar as a child process, attacked the way a process in the pod or on the cluster network
 * could: raw TCP requests in every form (fast-check), a login failure whose details must stay on loopback,
 * more connections than either listener holds, SIGTERM while long polls wait.
 */
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { STACK_ACCOUNT, STACK_POLICY, STACK_SEED, startStack, type StackExt } from '../../../stand-ins/stack.js';
import { rawRequest, requestBytes } from '../../unit/sidecar/raw-http.js';
import {
  forwarded,
  hostHeader,
  method,
  requestTarget,
  rightAuthorization,
  VAULT_HELPER_ROUTES,
  wrongAuthorization,
  wrongVaultToken,
} from '../../unit/sidecar/target-arbitraries.js';
import { cleanup, startSidecar, waitFor, waitReady, type RunningSidecar } from './helpers.js';

let stack: StackExt;
let sidecar: RunningSidecar | undefined;
let apiPort: number;
let healthPort: number;
const PROBE_BODIES = ['{"status":"ok"}', '{"status":"ready"}'];

beforeAll(async () => {
  stack = await startStack();
  sidecar = await startSidecar(stack.sidecarEnv({ VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app' }) }));
  await waitReady(sidecar);
  apiPort = Number(new URL(sidecar.api).port);
  healthPort = Number(new URL(sidecar.health).port);
});
afterAll(async () => {
  await cleanup(sidecar);
  await stack?.close();
});

describe('readiness', () => {
  it('is announced once, event-driven: one "ready" line and vault_irsa_ready 1', async () => {
    const s = sidecar as RunningSidecar;
    await s.proc.waitForLine(/"event":"ready"/, 10_000);
    expect(s.proc.output().match(/"event":"ready"/g)).toHaveLength(1);
    expect(await (await fetch(`${s.health}/metrics`)).text()).toMatch(/^vault_irsa_ready 1$/m);
  });
});

describe('raw TCP against the running sidecar', () => {
  it('property: without the right token in either header, no 2xx but the probes and no byte of a secret value, on the API listener', async () => {
    const s = sidecar as RunningSidecar;
    const names = {
      secret: 'app',
      key: 'password',
      vaultRoutes: [
        ['secret', 'data', 'my-app'],
        ['sys', 'internal', 'ui', 'mounts', 'secret', 'my-app'],
        ...VAULT_HELPER_ROUTES,
      ],
    };
    await fc.assert(
      fc.asyncProperty(
        method,
        requestTarget(names),
        hostHeader(apiPort),
        wrongAuthorization(s.requestToken),
        wrongVaultToken(s.requestToken),
        forwarded,
        async (m, target, host, authorization, vaultToken, fwd) => {
          const r = await rawRequest(
            apiPort,
            requestBytes(m, target, [
              ['Host', host],
              ['Authorization', authorization],
              ['X-Vault-Token', vaultToken],
              ...fwd,
              ['Connection', 'close'],
            ]),
          );
          expect(r.status).toBeDefined();
          expect(r.raw).not.toContain(STACK_SEED.password);
          expect(r.raw).not.toContain(STACK_SEED.username);
          expect(r.raw).not.toContain(s.requestToken);
          if ((r.status as number) < 300) {
            if (m === 'HEAD') expect(PROBE_BODIES.map((b) => String(b.length))).toContain(r.headers['content-length']);
            else expect(PROBE_BODIES).toContain(r.body);
          }
        },
      ),
      { numRuns: 300 },
    );
    // and the canonical read still works
    const ok = await rawRequest(
      apiPort,
      requestBytes('GET', '/v1/secrets/app/password', [
        ['Host', '127.0.0.1'],
        ['Authorization', `Bearer ${s.requestToken}`],
        ['Connection', 'close'],
      ]),
    );
    expect(ok.status).toBe(200);
    expect(ok.body).toBe(STACK_SEED.password);
  });

  it('property: the health listener never answers a secret value, the Vault path, the token, or an identity', async () => {
    const s = sidecar as RunningSidecar;
    const auth = fc.oneof(wrongAuthorization(s.requestToken), rightAuthorization(s.requestToken));
    // the Vault view's paths with its header too: the health listener has no Vault view
    const names = {
      secret: 'app',
      key: 'password',
      vaultRoutes: [
        ['secret', 'data', 'my-app'],
        ['sys', 'internal', 'ui', 'mounts', 'secret', 'my-app'],
        ...VAULT_HELPER_ROUTES,
      ],
    };
    const vaultToken = fc.oneof(wrongVaultToken(s.requestToken), fc.constant(s.requestToken));
    await fc.assert(
      fc.asyncProperty(
        method,
        requestTarget(names),
        hostHeader(healthPort),
        auth,
        vaultToken,
        forwarded,
        async (m, target, host, authorization, xVaultToken, fwd) => {
          const r = await rawRequest(
            healthPort,
            requestBytes(m, target, [
              ['Host', host],
              ['Authorization', authorization],
              ['X-Vault-Token', xVaultToken],
              ...fwd,
              ['Connection', 'close'],
            ]),
          );
          expect(r.status).toBeDefined();
          for (const planted of [
            STACK_SEED.password,
            STACK_SEED.username,
            'secret/my-app',
            s.requestToken,
            stack.roleArn,
            STACK_ACCOUNT,
            stack.webIdentityTokenFile,
          ]) {
            expect(r.raw).not.toContain(planted);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('a failing login: details on loopback, a code on the pod IP', () => {
  let failing: RunningSidecar | undefined;
  afterAll(() => cleanup(failing));

  it('no ARN, account, role, session, path or Vault text on the pod-IP listener', async () => {
    // a Vault role bound to someone else: Vault's answer names our principal's ARN and the role
    stack.vault.writeRole('planted-role-q9', {
      auth_type: 'iam',
      bound_iam_principal_arn: ['arn:aws:iam::999988887777:role/someone-*'],
      token_policies: [STACK_POLICY],
    });
    failing = await startSidecar(
      stack.sidecarEnv({
        VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app' }),
        VAULT_IRSA_ROLE: 'planted-role-q9',
        VAULT_IRSA_LISTEN: '127.0.0.1:0',
        VAULT_IRSA_HEALTH_LISTEN: '127.0.0.1:0',
        VAULT_IRSA_TOKEN_FILE: join(stack.dir, 'token-failing'),
      }),
    );
    const f = failing;
    const loopback = await waitFor(async () => {
      const r = await fetch(`${f.api}/readyz`);
      const text = await r.text();
      return r.status === 503 && text.includes('does not belong') ? text : undefined;
    }, 20_000);
    expect(loopback).toContain('planted-role-q9');
    const pod = await fetch(`${f.health}/readyz`);
    expect(pod.status).toBe(503);
    const text = await pod.text();
    expect(JSON.parse(text)).toEqual({
      error: {
        code: 'not_ready',
        message: 'not logged in to Vault yet: vault_login_failed; secret "app": not read yet',
      },
    });
    const metrics = await (await fetch(`${f.health}/metrics`)).text();
    for (const body of [text, metrics]) {
      for (const planted of [
        'planted-role-q9',
        STACK_ACCOUNT,
        stack.roleArn,
        'app-sidecar',
        'does not belong',
        'IAM Principal',
        stack.webIdentityTokenFile,
        'secret/my-app',
      ]) {
        expect(body).not.toContain(planted);
      }
    }
  });
});

/** Opens `n` connections, sends one keep-alive request on each, and counts the ones answered. The answered stay open. */
async function flood(port: number, n: number, target: string): Promise<{ answered: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const results = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1');
          sockets.push(s);
          s.on('error', () => resolve(false));
          s.on('close', () => resolve(false));
          s.once('connect', () => s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
          s.once('data', (d: Buffer) => resolve(d.toString('latin1').startsWith('HTTP/1.1 ')));
        }),
    ),
  );
  return { answered: results.filter(Boolean).length, sockets };
}

describe('more connections than a listener holds', () => {
  it('each listener answers at most its bound at once, evicts idle connections, and a probe gets through again', async () => {
    const s = sidecar as RunningSidecar;
    const health = await flood(healthPort, 150, '/healthz');
    const api = await flood(apiPort, 400, '/healthz');
    try {
      expect(health.answered).toBeGreaterThan(0);
      expect(health.answered).toBeLessThanOrEqual(32);
      expect(api.answered).toBeGreaterThan(0);
      expect(api.answered).toBeLessThanOrEqual(256);
      // the flood's connections stay open and idle; the keep-alive timeout frees their places
      await waitFor(
        async () => (await fetch(`${s.health}/readyz`).catch(() => undefined))?.status === 200,
        30_000,
        250,
      );
      await waitFor(
        async () => (await s.get('/v1/secrets/app/password').catch(() => undefined))?.status === 200,
        30_000,
        250,
      );
    } finally {
      for (const x of [...health.sockets, ...api.sockets]) x.destroy();
    }
    expect(s.proc.proc.exitCode).toBeNull();
  });
});

/**
 * Opens `n` connections that each send `bytes` and then neither read nor close: what a hostile client on the
 * cluster network does to hold a listener's places after it was answered (408 for a request that never ends,
 * 400 for CONNECT). The sockets are paused so nothing is read, and no FIN is ever sent.
 */
function hold(port: number, n: number, bytes: string): Socket[] {
  return Array.from({ length: n }, () => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.once('connect', () => {
      s.write(bytes);
      s.pause();
    });
    return s;
  });
}

describe('answered connections that the client never closes', () => {
  it.each([
    ['a request that never ends (408)', 'GET /healthz HTTP/1.1\r\n'],
    ['CONNECT (400)', 'CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n'],
  ])(
    '%s: the health listener closes them itself, so probes get through again',
    async (_what, bytes) => {
      const s = sidecar as RunningSidecar;
      const held = hold(healthPort, 40, bytes);
      try {
        // the health listener's header timeout is 5 s: its 408s (and the 400s to CONNECT) must free every place,
        // though none of these clients reads its answer or sends a FIN
        await new Promise((r) => setTimeout(r, 7_000));
        let answered = 0;
        for (let i = 0; i < 5; i++) {
          const ok = await fetch(`${s.health}/healthz`, { signal: AbortSignal.timeout(3_000) })
            .then((r) => r.status === 200)
            .catch(() => false);
          if (ok) answered++;
        }
        expect(answered).toBe(5);
      } finally {
        for (const x of held) x.destroy();
      }
    },
    30_000,
  );
});

describe('SIGTERM', () => {
  it('every waiting long poll is answered (304 with its ETag, Connection: close), none reset; exit 0', async () => {
    const s = sidecar as RunningSidecar;
    const etag = (await s.get('/v1/secrets/app')).headers.get('etag') as string;
    const agent = new Agent({ keepAlive: true });
    const poll = () =>
      new Promise<{ status?: number; headers?: Record<string, unknown>; error?: string }>((resolve) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: apiPort,
            path: '/v1/secrets/app?wait=60s',
            agent,
            headers: { authorization: `Bearer ${s.requestToken}`, 'if-none-match': etag },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
          },
        );
        req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
        req.end();
      });
    const polls = [poll(), poll(), poll()];
    await waitFor(
      async () => /vault_irsa_long_polls_waiting 3/.test(await (await fetch(`${s.health}/metrics`)).text()),
      10_000,
      50,
    );
    const exit = s.stop();
    for (const r of await Promise.all(polls)) {
      expect(r).toMatchObject({ status: 304, headers: { etag, connection: 'close', 'cache-control': 'no-store' } });
    }
    expect((await exit).code).toBe(0);
    agent.destroy();
  });
});
