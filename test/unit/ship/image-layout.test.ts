/**
 * The built programs run from a copy laid out as the images lay them out: exactly what each Dockerfile's runtime
 * stage copies from the build (/app/package.json and the program's bundle, dist/bundle/<program>.cjs or .mjs; no
 * node_modules), the sidecar launcher in a bin directory, started with the Dockerfiles' own ENTRYPOINT and
 * launcher text. No Docker here: this is what can be known without it. The sidecar logs in through the stand-ins
 * and serves a secret, and the webhook reads a ServiceAccount through its informer, so the bundles are known to
 * hold everything they load. Needs the build (npm run build); skipped with one line when it is missing.
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  type Dirent,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { startProcess, waitFor, type TestProcess } from '../../../stand-ins/child.js';
import { startFakeKubeApi } from '../../support/fake-kube-api.js';
import { freePort, freePorts } from '../../../stand-ins/ports.js';
import { STACK_SEED, startStack } from '../../../stand-ins/stack.js';
import { makeTestCert, writeTestCert, type TestCert } from '../../../stand-ins/tls.js';
import { parseCopy, parseDockerfile } from './dockerfile.js';
import { ROOT, exists, read } from './ship-helpers.js';

const ENTRIES = ['dist/bundle/vault-irsa-webhook.mjs', 'dist/bundle/vault-irsa-sidecar.cjs'];
const missing = ENTRIES.filter((e) => !exists(e));
if (missing.length > 0) console.log(`skipped: ${missing.join(', ')} missing (run npm run build first)`);
const suite = missing.length === 0 ? describe : describe.skip;

const VERSION = (JSON.parse(read('package.json')) as { version: string }).version;

interface Layout {
  root: string;
  app: string;
  bin: string;
}

/** A COPY source with `*` in its last segment (as Docker matches it) → the matching build files; else itself. */
function expandGlob(src: string): string[] {
  const name = basename(src);
  if (!name.includes('*')) return [src];
  const re = new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  const dir = dirname(src);
  return readdirSyncSafe(join(ROOT, dir))
    .filter((e) => re.test(e.name))
    .map((e) => join(dir, e.name));
}

/** /app as the runtime stages build it: every final-stage `COPY --from=build /app/<src> <dest>` of both Dockerfiles. */
function layOut(): Layout {
  const root = mkdtempSync(join(tmpdir(), 'vault-irsa-image-'));
  const app = join(root, 'app');
  const bin = join(root, 'usr/local/bin');
  mkdirSync(app, { recursive: true });
  mkdirSync(bin, { recursive: true });
  for (const file of ['Dockerfile.webhook', 'Dockerfile.sidecar']) {
    const df = parseDockerfile(read(file));
    const last = df.stages.length - 1;
    for (const c of df.instructions.filter((i) => i.op === 'COPY' && i.stage === last).map(parseCopy)) {
      if (c.heredoc !== undefined) continue;
      if (c.from !== 'build') throw new Error(`${file}: runtime COPY not from the build stage`);
      for (const src of c.sources.flatMap((s) => expandGlob(s.replace(/^\/app\//, '')))) {
        // a destination ending in / is a directory the sources go into, as COPY does
        const dest = c.dest.replace(/^\.\//, '');
        const target = join(app, dest.endsWith('/') ? join(dest, basename(src)) : dest);
        mkdirSync(dirname(target), { recursive: true });
        cpSync(join(ROOT, src), target, { recursive: true });
      }
    }
  }

  // the sidecar launcher, from the Dockerfile's heredoc, with this machine's node for /nodejs/bin/node
  const df = parseDockerfile(read('Dockerfile.sidecar'));
  const launcher = df.instructions
    .filter((i) => i.op === 'COPY')
    .map(parseCopy)
    .find((c) => c.heredoc !== undefined);
  if (!launcher?.heredoc || !launcher.dest.startsWith('/usr/local/bin/'))
    throw new Error('Dockerfile.sidecar has no launcher heredoc');
  const text = launcher.heredoc
    .replace(/^#!\/nodejs\/bin\/node/, `#!${process.execPath}`)
    .replaceAll("'/app/", `'${app}/`);
  const target = join(root, launcher.dest);
  writeFileSync(target, text);
  chmodSync(target, Number.parseInt(launcher.chmod ?? '755', 8));
  return { root, app, bin };
}

/** The Dockerfile's ENTRYPOINT, mapped onto the layout. */
function entrypoint(file: string, layout: Layout): { cmd: string; args: string[] } {
  const df = parseDockerfile(read(file));
  const ep = df.instructions.filter((i) => i.op === 'ENTRYPOINT').at(-1);
  const argv = JSON.parse(ep?.args ?? '[]') as string[];
  const mapped = argv.map((a) =>
    a === '/nodejs/bin/node' ? process.execPath : a.replace(/^\/app\//, `${layout.app}/`),
  );
  return { cmd: mapped[0] ?? '', args: mapped.slice(1) };
}

suite('programs from the image layout', () => {
  let layout: Layout;
  const procs: TestProcess[] = [];
  const servers: Server[] = [];

  beforeAll(() => {
    layout = layOut();
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (layout) rmSync(layout.root, { recursive: true, force: true });
  });

  const start = (cmd: string, args: string[], env: Record<string, string | undefined>) => {
    const p = startProcess(cmd, args, env, { cwd: layout.app });
    procs.push(p);
    return p;
  };

  /** A stand-in sidecar health listener answering /readyz with `status`. */
  const readyz = async (status: number): Promise<number> => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/readyz' ? status : 404, { 'content-type': 'application/json' });
      res.end(status === 200 ? '{"status":"ready"}' : '{"status":"not ready","reason":"secret db not read yet"}');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  };

  test('the sidecar ENTRYPOINT answers --version with the package version', async () => {
    const { cmd, args } = entrypoint('Dockerfile.sidecar', layout);
    const p = start(cmd, [...args, '--version'], {});
    expect(await p.waitForExit()).toEqual({ code: 0, signal: null });
    expect(p.output().trim()).toBe(`vault-irsa-sidecar ${VERSION}`);
  });

  test("the launcher on PATH runs the same program by its bare name, as the webhook's command does", async () => {
    const p = start('vault-irsa-sidecar', ['--version'], { PATH: `${layout.bin}:${process.env.PATH ?? ''}` });
    expect(await p.waitForExit()).toEqual({ code: 0, signal: null });
    expect(p.output().trim()).toBe(`vault-irsa-sidecar ${VERSION}`);
  });

  test('`vault-irsa-sidecar wait` through the launcher exits 0 once /readyz answers 200', async () => {
    const port = await readyz(200);
    const p = start(join(layout.bin, 'vault-irsa-sidecar'), ['wait', '--timeout=30s'], {
      VAULT_IRSA_HEALTH_LISTEN: `0.0.0.0:${port}`,
      VAULT_IRSA_LISTEN: `127.0.0.1:${port}`,
    });
    expect(await p.waitForExit(40000)).toEqual({ code: 0, signal: null });
  });

  test('`vault-irsa-sidecar wait` through the launcher fails while /readyz answers 503', async () => {
    const port = await readyz(503);
    const p = start(join(layout.bin, 'vault-irsa-sidecar'), ['wait', '--timeout=1s'], {
      VAULT_IRSA_HEALTH_LISTEN: `0.0.0.0:${port}`,
    });
    const exit = await p.waitForExit(40000);
    expect(exit.code).not.toBe(0);
    expect(p.output()).toMatch(/not ready/);
  });

  test('the sidecar, unconfigured, loads all its modules and stops with a line naming the missing variable', async () => {
    const { cmd, args } = entrypoint('Dockerfile.sidecar', layout);
    const p = start(cmd, args, { AWS_EC2_METADATA_DISABLED: 'true' });
    const exit = await p.waitForExit(40000);
    expect(exit.code).not.toBe(0);
    expect(p.output()).toMatch(/VAULT_(ADDR|IRSA_ROLE)/);
    expect(p.output()).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
  });

  test('the image holds the bundles and package.json only: no node_modules, no tsc output', () => {
    // the webhook's Kubernetes client is in chunk files beside its bundle, named by content hash
    const files = listApp(layout.app);
    const chunks = files.filter((f) => /^dist\/bundle\/vault-irsa-webhook\.[\w-]+\.mjs$/.test(f));
    expect(chunks.length).toBeGreaterThan(0);
    expect(files.filter((f) => !chunks.includes(f))).toEqual([
      'dist/bundle/vault-irsa-sidecar.cjs',
      'dist/bundle/vault-irsa-webhook.mjs',
      'package.json',
    ]);
    expect(existsSync(join(layout.app, 'node_modules'))).toBe(false);
  });

  test('the sidecar, run by its bare name as the webhook runs it, logs in through the stand-ins and serves a secret', async () => {
    const stack = await startStack();
    try {
      const [apiPort, healthPort] = await freePorts(2);
      const p = start('vault-irsa-sidecar', [], {
        ...stack.sidecarEnv({
          VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app' }),
          VAULT_IRSA_LISTEN: `127.0.0.1:${apiPort}`,
          VAULT_IRSA_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
        }),
        PATH: `${layout.bin}:${process.env.PATH ?? ''}`,
      });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200, 30000, 50);
      const token = readFileSync(stack.requestTokenFile, 'utf8');
      const r = await fetch(`http://127.0.0.1:${apiPort}/v1/secrets/app/password`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(await r.text()).toBe(STACK_SEED.password);
      expect(await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text()).toMatch(
        /vault_irsa_logins_total\{outcome="success"\} 1/,
      );
      expect(await p.stop('SIGTERM', 10000)).toEqual({ code: 0, signal: null });
      expect(p.output()).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
    } finally {
      await stack.close();
    }
  }, 60000);

  describe('the webhook ENTRYPOINT', () => {
    let cert: TestCert;
    let port = 0;
    let webhook: TestProcess;
    let before: string[] = [];

    const get = (path: string, method = 'GET', body?: string, to = port) =>
      new Promise<{ status: number; body: string; fingerprint256: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: to,
            path,
            method,
            agent: false,
            ca: cert.cert,
            headers: body ? { 'content-type': 'application/json' } : {},
            timeout: 5000,
          },
          (res) => {
            // read the peer certificate now: the socket is detached from the response once it ends
            const fingerprint256 = (res.socket as import('node:tls').TLSSocket).getPeerCertificate(
              false,
            ).fingerprint256;
            let data = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (data += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, fingerprint256 }));
          },
        );
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
        req.end(body);
      });

    beforeAll(async () => {
      cert = await makeTestCert({ dnsNames: ['localhost'], ips: ['127.0.0.1'] });
      const tls = await writeTestCert(join(layout.root, 'etc/vault-irsa/tls'), cert);
      port = await freePort();
      before = listApp(layout.app);
      const { cmd, args } = entrypoint('Dockerfile.webhook', layout);
      webhook = start(cmd, args, {
        VAULT_IRSA_WEBHOOK_PORT: String(port),
        VAULT_IRSA_WEBHOOK_LISTEN_HOST: '127.0.0.1',
        VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: tls.certFile,
        VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: tls.keyFile,
        VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.vault.svc:8200',
        VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
      });
      await waitFor(async () => (await get('/healthz')).status === 200, 40000, 100);
    }, 60000);

    test('serves /healthz and /readyz over HTTPS with the mounted certificate', async () => {
      const health = await get('/healthz');
      expect(health.status).toBe(200);
      expect(health.fingerprint256).toBe(new X509Certificate(cert.cert).fingerprint256);
      await waitFor(async () => (await get('/readyz')).status === 200, 20000, 100);
    });

    test('answers POST /mutate: a body that is not an AdmissionReview gets 400', async () => {
      const r = await get('/mutate', 'POST', JSON.stringify({ hello: 'world' }));
      expect(r.status).toBe(400);
    });

    test('writes nothing into its install directory (it runs on a read-only root filesystem)', () => {
      expect(listApp(layout.app)).toEqual(before);
    });

    test("with KUBECONFIG, a second webhook reads the ServiceAccount's role through its informer", async () => {
      const kube = await startFakeKubeApi();
      try {
        kube.upsertServiceAccount('demo', 'irsa', {
          'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/from-sa',
        });
        const kubeconfig = await kube.writeKubeconfig(layout.root);
        const port2 = await freePort();
        const { cmd, args } = entrypoint('Dockerfile.webhook', layout);
        const tls = {
          certFile: join(layout.root, 'etc/vault-irsa/tls/tls.crt'),
          keyFile: join(layout.root, 'etc/vault-irsa/tls/tls.key'),
        };
        const second = start(cmd, args, {
          VAULT_IRSA_WEBHOOK_PORT: String(port2),
          VAULT_IRSA_WEBHOOK_LISTEN_HOST: '127.0.0.1',
          VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: tls.certFile,
          VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: tls.keyFile,
          VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.vault.svc:8200',
          VAULT_IRSA_WEBHOOK_KUBERNETES: 'auto',
          KUBECONFIG: kubeconfig,
        });
        await waitFor(() => kube.openWatches === 1, 40000, 50);
        const review = {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {
            uid: 'u-1',
            kind: { group: '', version: 'v1', kind: 'Pod' },
            resource: { group: '', version: 'v1', resource: 'pods' },
            operation: 'CREATE',
            namespace: 'demo',
            object: {
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name: 'p', annotations: { 'vault-irsa.io/role': 'app' } },
              spec: { serviceAccountName: 'irsa', containers: [{ name: 'app', image: 'busybox' }] },
            },
          },
        };
        const r = await get('/mutate', 'POST', JSON.stringify(review), port2);
        expect(r.status).toBe(200);
        const response = (JSON.parse(r.body) as { response: { allowed: boolean; patch: string } }).response;
        expect(response.allowed).toBe(true);
        expect(Buffer.from(response.patch, 'base64').toString('utf8')).toContain(
          'arn:aws:iam::111122223333:role/from-sa',
        );
        expect((await second.stop('SIGTERM', 20000)).code).toBe(0);
      } finally {
        await kube.close();
      }
    }, 60000);

    test('stops cleanly on SIGTERM', async () => {
      const exit = await webhook.stop('SIGTERM', 20000);
      expect(exit.signal).toBeNull();
      expect(exit.code).toBe(0);
    });
  });
});

/** Files under the laid-out /app (a node_modules there, which there must not be, is not walked). */
function listApp(app: string): string[] {
  const out: string[] = [];
  const rec = (dir: string) => {
    for (const e of readdirSyncSafe(dir)) {
      if (e.name === 'node_modules' && dir === app) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) rec(p);
      else out.push(relative(app, p));
    }
  };
  rec(app);
  return out.sort();
}

function readdirSyncSafe(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
