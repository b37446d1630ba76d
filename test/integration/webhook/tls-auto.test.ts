/**
 * TLS mode `auto` against the fake Kubernetes API (Secrets and MutatingWebhookConfigurations with real
 * resourceVersion conflicts and RBAC-style 403s): first start, two replicas at once, a Secret already there,
 * a drifting caBundle, rotation under a fake clock with the invariant that every replica's certificate is
 * trusted by the published bundle at every step, and missing permissions. Then the webhook itself in auto
 * mode, reached over HTTPS with nothing but the published caBundle.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import fc from 'fast-check';
import { kubeRequester } from '../../../webhook/kube-rest.js';
import { startWebhook } from '../../../webhook/main.js';
import { createLogger } from '../../../webhook/logger.js';
import { AutoTls, generationMaker } from '../../../webhook/tls-auto.js';
import { TlsError } from '../../../webhook/tls.js';
import { startFakeKubeApi, type FakeKubeApi, type Obj } from '../../support/fake-kube-api.js';
import { requireBuild, runToExit } from './webhook-process.js';

const NS = 'vault-irsa';
const SECRET = 'vault-irsa-tls';
const MWC = 'vault-irsa';
const DNS = ['vault-irsa', `vault-irsa.${NS}`, `vault-irsa.${NS}.svc`, `vault-irsa.${NS}.svc.cluster.local`];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const POLICY = { validityMs: 10 * DAY, renewBeforeMs: 3 * DAY, overlapMs: HOUR, dnsNames: DNS };

let kube: FakeKubeApi;
let dir: string;
let kc: KubeConfig;
const managers: AutoTls[] = [];

function webhookConfiguration(caBundle?: string): Obj {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: MWC },
    webhooks: [
      {
        name: 'inject.vault-irsa.io',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        clientConfig: {
          service: { name: 'vault-irsa', namespace: NS, path: '/mutate', port: 443 },
          ...(caBundle ? { caBundle } : {}),
        },
        // a field this client has no model for must survive the webhook's write
        futureField: { keep: true },
      },
    ],
  };
}

interface Replica {
  tls: AutoTls;
  served: () => string | undefined;
  events: string[];
}

function replica(clock: { now: Date } = { now: new Date() }, intervalMs = 60_000): Replica {
  let served: string | undefined;
  const events: string[] = [];
  const tls = new AutoTls({
    request: kubeRequester(kc, 5000),
    namespace: NS,
    secretName: SECRET,
    webhookConfigurationName: MWC,
    policy: POLICY,
    intervalMs,
    apply: (p) => {
      served = p.cert.toString();
    },
    onEvent: (e) => events.push(`${e.level}: ${e.message}`),
    now: () => clock.now,
    make: generationMaker(DNS, POLICY.validityMs),
  });
  managers.push(tls);
  return { tls, served: () => served, events };
}

const bundleOf = (): string => {
  const hook = ((kube.getWebhookConfiguration(MWC)?.webhooks as Obj[])[0] as Obj).clientConfig as Obj;
  return typeof hook.caBundle === 'string' ? Buffer.from(hook.caBundle, 'base64').toString() : '';
};
const cas = (bundle: string): X509Certificate[] =>
  (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (p) => new X509Certificate(p),
  );
/** The API server's view: the served certificate chains to a CA in the published bundle. */
const trusted = (certPem: string | undefined): boolean => {
  if (certPem === undefined) return false;
  const cert = new X509Certificate(certPem);
  return cas(bundleOf()).some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
};
const secretData = (): Record<string, string> => (kube.getSecret(NS, SECRET)?.data ?? {}) as Record<string, string>;
const writes = (method: string, fragment: string): number =>
  kube.requests.filter((r) => r.method === method && r.path.includes(fragment)).length;

beforeEach(async () => {
  kube = await startFakeKubeApi();
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-tls-auto-'));
  kc = new KubeConfig();
  kc.loadFromFile(await kube.writeKubeconfig(dir));
  kube.putWebhookConfiguration(webhookConfiguration());
  kube.putSecret(NS, SECRET);
});
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
  await kube.close();
  await rm(dir, { recursive: true, force: true });
});

describe('first start', () => {
  test('fills the pre-created empty Secret, publishes the CA, serves a certificate for the Service names', async () => {
    const r = replica();
    const pair = await r.tls.start();
    const data = secretData();
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const cert = new X509Certificate(pair.cert);
    expect(cert.subjectAltName?.split(', ')).toEqual(DNS.map((d) => `DNS:${d}`));
    expect(Buffer.from(data['tls.crt'] ?? '', 'base64').toString()).toBe(pair.cert.toString());
    expect(trusted(pair.cert.toString())).toBe(true);
    expect(cas(bundleOf())).toHaveLength(1);
    const hook = (kube.getWebhookConfiguration(MWC)?.webhooks as Obj[])[0] as Obj;
    expect(hook.futureField).toEqual({ keep: true });
    expect(writes('POST', '/secrets')).toBe(0);
  });

  test('creates the Secret when it is absent and creating is allowed', async () => {
    kube.deleteSecret(NS, SECRET);
    const pair = await replica().tls.start();
    expect(writes('POST', '/secrets')).toBe(1);
    expect(trusted(pair.cert.toString())).toBe(true);
  });

  test('adopts a Secret that is already there: no write, same certificate', async () => {
    const first = await replica().tls.start();
    const before = kube.requests.length;
    const second = await replica().tls.start();
    expect(second.cert.equals(first.cert)).toBe(true);
    const after = kube.requests.slice(before);
    expect(after.filter((q) => q.method !== 'GET')).toEqual([]);
  });

  test('replaces a Secret whose content does not load, and says so', async () => {
    kube.putSecret(NS, SECRET, { 'ca.crt': 'Z2FyYmFnZQ==', 'tls.crt': 'Z2FyYmFnZQ==', 'tls.key': 'Z2FyYmFnZQ==' });
    const r = replica();
    const pair = await r.tls.start();
    expect(trusted(pair.cert.toString())).toBe(true);
    expect(r.events.some((e) => e.startsWith('warn:') && e.includes('replacing it'))).toBe(true);
  });

  test("two replicas starting at once: one write wins (409 for the other), both serve the winner's certificate", async () => {
    kube.gateSecretWrites(2);
    const [a, b] = [replica(), replica()];
    const [pa, pb] = await Promise.all([a.tls.start(), b.tls.start()]);
    expect(pa.cert.equals(pb.cert)).toBe(true);
    expect(writes('PUT', `/secrets/${SECRET}`)).toBe(2);
    expect(Buffer.from(secretData()['tls.crt'] ?? '', 'base64').toString()).toBe(pa.cert.toString());
    expect(cas(bundleOf())).toHaveLength(1);
    expect(trusted(pa.cert.toString())).toBe(true);
  });

  test('two replicas creating an absent Secret at once: AlreadyExists for one, the same certificate for both', async () => {
    kube.deleteSecret(NS, SECRET);
    kube.gateSecretWrites(2);
    const [pa, pb] = await Promise.all([replica().tls.start(), replica().tls.start()]);
    expect(pa.cert.equals(pb.cert)).toBe(true);
    expect(writes('POST', '/secrets')).toBe(2);
  });
});

describe('the published caBundle', () => {
  test('drifting (edited, emptied) is restored on the next check', async () => {
    const r = replica();
    const pair = await r.tls.start();
    const other = `-----BEGIN CERTIFICATE-----\n${new X509Certificate(pair.cert).raw.toString('base64')}\n-----END CERTIFICATE-----\n`;
    kube.putWebhookConfiguration(webhookConfiguration(Buffer.from(other).toString('base64')));
    expect(trusted(pair.cert.toString())).toBe(false);
    await r.tls.reconcile();
    expect(trusted(pair.cert.toString())).toBe(true);
    expect(r.events.some((e) => e.includes('drifted; restored'))).toBe(true);
    kube.putWebhookConfiguration(webhookConfiguration());
    await r.tls.reconcile();
    expect(trusted(pair.cert.toString())).toBe(true);
  });

  test('the periodic loop restores it without being asked', async () => {
    const r = replica({ now: new Date() }, 50);
    const pair = await r.tls.start();
    r.tls.startLoop();
    kube.putWebhookConfiguration(webhookConfiguration(Buffer.from('not a bundle').toString('base64')));
    const deadline = Date.now() + 10_000;
    while (!trusted(pair.cert.toString()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(trusted(pair.cert.toString())).toBe(true);
  });
});

describe('rotation', () => {
  test('new CA published first, certificate switched after an overlap, old CA kept for another, then dropped', async () => {
    const clock = { now: new Date() };
    const a = replica(clock);
    const b = replica(clock);
    const first = (await a.tls.start()).cert.toString();
    await b.tls.start();
    const at = (ms: number): void => {
      clock.now = new Date(clock.now.getTime() + ms);
    };

    at(7 * DAY + 60_000); // inside renewBefore
    expect(await a.tls.reconcile()).toEqual(['renewal-started']);
    expect(cas(bundleOf())).toHaveLength(2);
    expect(a.served()).toBe(first); // still the old certificate
    expect(Object.keys(secretData())).toEqual(
      expect.arrayContaining(['next.ca.crt', 'next.tls.crt', 'next.tls.key', 'next.since']),
    );

    at(HOUR / 2);
    expect(await b.tls.reconcile()).toEqual([]); // overlap not over: nobody switches
    expect(b.served()).toBe(first);

    at(HOUR / 2 + 1000);
    expect(await b.tls.reconcile()).toEqual(['promoted']);
    expect(b.served()).not.toBe(first);
    // a has not re-read yet and still serves the old certificate: both are trusted
    expect([trusted(a.served()), trusted(b.served())]).toEqual([true, true]);
    await a.tls.reconcile();
    expect(a.served()).toBe(b.served());

    at(HOUR + 1000);
    expect(await a.tls.reconcile()).toEqual(['previous-dropped']);
    expect(cas(bundleOf())).toHaveLength(1);
    expect(trusted(a.served())).toBe(true);
    expect(trusted(first)).toBe(false);
  });

  test('property: however replicas interleave, every served certificate stays trusted (each re-reads within an overlap)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: Math.floor(POLICY.overlapMs / 3) })),
          { minLength: 5, maxLength: 40 },
        ),
        async (script) => {
          for (const m of managers.splice(0)) await m.stop();
          kube.putWebhookConfiguration(webhookConfiguration());
          kube.putSecret(NS, SECRET);
          const clock = { now: new Date() };
          const rs = [replica(clock), replica(clock), replica(clock)];
          for (const r of rs) await r.tls.start();
          // start near the end of the renewal window so the script crosses renewal, promotion and the drop
          clock.now = new Date(clock.now.getTime() + 7 * DAY - HOUR);
          const lastRead = rs.map(() => clock.now.getTime());
          for (const [who, dt] of script) {
            clock.now = new Date(clock.now.getTime() + dt);
            // the rule the interval check enforces: nobody goes an overlap without re-reading
            for (const [i, r] of rs.entries())
              if (clock.now.getTime() - (lastRead[i] ?? 0) >= POLICY.overlapMs / 2) {
                await r.tls.reconcile();
                lastRead[i] = clock.now.getTime();
              }
            await (rs[who] as Replica).tls.reconcile();
            lastRead[who] = clock.now.getTime();
            for (const r of rs) if (!trusted(r.served())) return false;
          }
          return true;
        },
      ),
      { numRuns: 15 },
    );
  });

  test('an expired certificate is replaced at once', async () => {
    const clock = { now: new Date() };
    const r = replica(clock);
    const first = (await r.tls.start()).cert.toString();
    clock.now = new Date(clock.now.getTime() + 11 * DAY);
    expect(await r.tls.reconcile()).toEqual(['expired-replaced']);
    expect(r.served()).not.toBe(first);
    expect(trusted(r.served())).toBe(true);
  });
});

describe('missing objects or permissions fail the start with one line naming what could not be done', () => {
  test.each([
    [
      'get mutatingwebhookconfigurations',
      /cannot get MutatingWebhookConfiguration vault-irsa: HTTP 403 \(forbidden\); the webhook's ServiceAccount needs get and update on it/,
    ],
    ['update mutatingwebhookconfigurations', /cannot update MutatingWebhookConfiguration vault-irsa: HTTP 403/],
    ['get secrets', /cannot get Secret vault-irsa\/vault-irsa-tls: HTTP 403 \(forbidden\)/],
    ['update secrets', /cannot update Secret vault-irsa\/vault-irsa-tls: HTTP 403/],
  ])('without %s', async (denied, message) => {
    kube.forbidden.add(denied);
    const err = await replica()
      .tls.start()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(TlsError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  test('without the Secret and without create', async () => {
    kube.deleteSecret(NS, SECRET);
    kube.forbidden.add('create secrets');
    await expect(replica().tls.start()).rejects.toThrow(
      /cannot create Secret vault-irsa\/vault-irsa-tls: HTTP 403 \(forbidden\); create it \(empty\) beforehand/,
    );
  });

  test('without the MutatingWebhookConfiguration', async () => {
    const r = replica();
    const other = new AutoTls({
      ...(r.tls as unknown as { opts: ConstructorParameters<typeof AutoTls>[0] }).opts,
      webhookConfigurationName: 'missing',
    });
    await expect(other.start()).rejects.toThrow(
      /cannot get MutatingWebhookConfiguration missing: HTTP 404 \(not found\)/,
    );
  });
});

describe('the webhook in TLS mode auto', () => {
  test('serves a certificate that the published caBundle trusts for the Service name', async () => {
    const env = {
      VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
      VAULT_IRSA_WEBHOOK_PORT: '0',
      VAULT_IRSA_WEBHOOK_LISTEN_HOST: '127.0.0.1',
      VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
      VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
      VAULT_IRSA_WEBHOOK_NAMESPACE: NS,
      KUBECONFIG: join(dir, 'kubeconfig'),
    };
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = env.KUBECONFIG;
    const running = await startWebhook(env, { logger: createLogger('silent') });
    try {
      const ca = bundleOf();
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: running.port, path: '/healthz', ca, servername: `vault-irsa.${NS}.svc` },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => {
              text += c.toString();
            });
            res.on('end', () => resolve(text));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(body)).toEqual({ status: 'ok' });
    } finally {
      await running.close();
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  test('without RBAC on the Secret it does not start', async () => {
    kube.forbidden.add('get secrets');
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = join(dir, 'kubeconfig');
    try {
      await expect(
        startWebhook(
          {
            VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
            VAULT_IRSA_WEBHOOK_PORT: '0',
            VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
            VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
            VAULT_IRSA_WEBHOOK_NAMESPACE: NS,
            KUBECONFIG: join(dir, 'kubeconfig'),
          },
          { logger: createLogger('silent') },
        ),
      ).rejects.toThrow(/cannot get Secret vault-irsa\/vault-irsa-tls: HTTP 403/);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});

describe('the built binary in TLS mode auto', () => {
  const env = (): Record<string, string> => ({
    VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200',
    VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
    VAULT_IRSA_WEBHOOK_PORT: '0',
    VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
    VAULT_IRSA_WEBHOOK_NAMESPACE: NS,
    KUBECONFIG: join(dir, 'kubeconfig'),
  });
  beforeAll(() => requireBuild());

  test.each([
    [
      'update secrets',
      /^vault-irsa-webhook: tls mode auto: cannot update Secret vault-irsa\/vault-irsa-tls: HTTP 403 \(forbidden\); the webhook's ServiceAccount needs get and update on it\n$/,
    ],
    [
      'get mutatingwebhookconfigurations',
      /^vault-irsa-webhook: tls mode auto: cannot get MutatingWebhookConfiguration vault-irsa: HTTP 403 \(forbidden\)/,
    ],
  ])('without %s it exits 1 with one line on stderr', async (denied, line) => {
    kube.forbidden.add(denied);
    const r = await runToExit(env());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(line);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('without any Kubernetes configuration it says so', async () => {
    const e = env();
    delete (e as Record<string, string | undefined>).KUBECONFIG;
    const r = await runToExit(e);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tls mode auto needs the Kubernetes API/);
  });
});
