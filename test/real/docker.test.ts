/**
 * The Docker part of the real-backends tier (testcontainers 11), run where a container runtime answers:
 * 1. Vault + LocalStack on one network: the sidecar takes web-identity credentials from LocalStack's STS,
 *    logs in to a real Vault whose AWS auth forwards to LocalStack, and serves KV v1, KV v2 and a leased
 *    aws-engine secret, renewing token and lease.
 * 2. K3s: the shipped MutatingWebhookConfiguration, pointed at the webhook on the Docker host, with a real
 *    API server: a server-side dry run (dryRun=All runs mutating webhooks and returns the result) of an
 *    annotated pod comes back with the sidecar; the selectors leave other pods alone. Then the shipped
 *    ValidatingAdmissionPolicy: the API server type-checks it, admits the webhook's output and denies a pod
 *    without its sidecar. Then TLS mode auto with the shipped RBAC, as the webhook's own ServiceAccount.
 *    No image of ours is pulled.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type V1Pod,
} from '@kubernetes/client-node';
import { X509Certificate } from 'node:crypto';
import { kubeRequester } from '../../webhook/kube-rest.js';
import { AutoTls } from '../../webhook/tls-auto.js';
import { Network, type StartedNetwork } from 'testcontainers';
import type { StartedLocalStackContainer } from '@testcontainers/localstack';
import type { StartedK3sContainer } from '@testcontainers/k3s';
import { startOidcIssuer, type OidcIssuerExt } from '../../stand-ins/oidc-issuer.js';
import { makeTestCert, writeTestCert } from '../../stand-ins/tls.js';
import {
  cleanup,
  SIDECAR_BIN,
  startSidecar,
  waitFor,
  waitReady,
  type RunningSidecar,
} from '../integration/sidecar/helpers.js';
import { startWebhookProcess, type WebhookProcess } from '../integration/webhook/webhook-process.js';
import { awsQuery, createWebIdentityRole } from './aws-query.js';
import { detectDocker } from './backends.js';
import {
  HOST_GATEWAY_NAME,
  hostGatewayIp,
  PULL_AND_START_MS,
  startK3s,
  startLocalStack,
  startVault,
  type StartedVault,
} from './containers.js';
import { IMAGES } from './images.js';
import {
  metric,
  NAMESPACE,
  SERVER_ID,
  SERVICE_ACCOUNT,
  sidecarEnvFor,
  writePodIdentity,
  type PodIdentity,
} from '../../stand-ins/pod-identity.js';
import {
  configureAwsAuthAndKv,
  enableAwsSecretsEngine,
  KV1_SEED,
  KV2_SEED,
  POLICY,
} from '../../stand-ins/vault-setup.js';
import { expectSidecarInjected, expectUntouched, sidecarOf } from './injected-pod.js';
import {
  podFor,
  registrationFor,
  shippedAdmissionPolicy,
  shippedAutoTlsObjects,
  SIDECAR_IMAGE,
} from './webhook-registration.js';

const detectStarted = Date.now();
const docker = await detectDocker();
const detectMs = Date.now() - detectStarted;
if (!docker.ok) console.log(`skipped: Docker (Vault + LocalStack, K3s): ${docker.reason}`);
const suite = docker.ok ? describe : describe.skip;

// Always runs, so the file is never skipped whole (Jest hides a skipped file's output, and the line above with it).
test('Docker detection answers at once, with a runtime or a reason', () => {
  expect(detectMs).toBeLessThan(15_000);
  expect(docker.ok || docker.reason.length > 0).toBe(true);
});

function requireSidecarBuild(): void {
  if (!existsSync(SIDECAR_BIN))
    throw new Error(`${SIDECAR_BIN} is missing: run \`npm run build\` (npm test and npm run test:real build first)`);
}

suite(`Vault (${IMAGES.vault}) + LocalStack (${IMAGES.localstack})`, () => {
  // Vault reaches LocalStack by its network alias; the sidecar, on the host, reaches both through mapped ports.
  const AWS_IN_NETWORK = 'http://localstack:4566';
  let network: StartedNetwork | undefined;
  let localstack: StartedLocalStackContainer | undefined;
  let vault: StartedVault | undefined;
  let oidc: OidcIssuerExt | undefined;
  let identity: PodIdentity | undefined;
  let sidecar: RunningSidecar | undefined;
  let roleArn = '';
  const running = (): RunningSidecar => sidecar as RunningSidecar;

  beforeAll(async () => {
    requireSidecarBuild();
    network = await new Network().start();
    const net = network;
    [localstack, vault] = await Promise.all([startLocalStack(net, 'localstack'), startVault(net)]);
    const awsFromHost = localstack.getConnectionUri();
    roleArn = await createWebIdentityRole(
      awsFromHost,
      'app-vault',
      `system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`,
    );
    // Token TTL 20 s: one renew-self within the test; the max TTL is long so the lease outlives it.
    await configureAwsAuthAndKv(vault.admin, {
      stsEndpoint: AWS_IN_NETWORK,
      iamEndpoint: AWS_IN_NETWORK,
      accessKey: 'test',
      secretKey: 'test',
      roleArn,
      tokenTtl: '20s',
      tokenMaxTtl: '10m',
      extraPolicy: 'path "aws/creds/app" { capabilities = ["read"] }',
    });
    await enableAwsSecretsEngine(vault.admin, AWS_IN_NETWORK);
    // LocalStack accepts any well-formed JWT for AssumeRoleWithWebIdentity; ours looks like an EKS projected token.
    oidc = await startOidcIssuer();
    identity = await writePodIdentity(oidc);
    sidecar = await startSidecar(
      sidecarEnvFor({
        vaultAddr: vault.addr,
        roleArn,
        stsEndpointUrl: awsFromHost,
        identity,
        secrets: { app: 'secret/my-app', legacy: 'kv1/app', aws: 'aws/creds/app' },
        refresh: '5s',
      }),
    );
    await waitReady(sidecar, 60_000);
  }, PULL_AND_START_MS);

  afterAll(async () => {
    await cleanup(sidecar);
    await identity?.close();
    await oidc?.close();
    await vault?.container.stop().catch(() => undefined);
    await localstack?.stop().catch(() => undefined);
    await network?.stop().catch(() => undefined);
  }, 120_000);

  it('logs in with web-identity credentials from LocalStack; the real Vault binds them to the LocalStack role', async () => {
    expect(await metric(running().health, 'vault_irsa_logins_total', { outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(await metric(running().health, 'vault_irsa_logins_total', { outcome: 'failure' })).toBe(0);
    const tokens = await (vault as StartedVault).admin.awsLoginTokens();
    expect(tokens.length).toBeGreaterThanOrEqual(1);
    expect(tokens[0]?.policies).toContain(POLICY);
    expect(tokens[0]?.meta).toMatchObject({ auth_type: 'iam', account_id: roleArn.split(':')[4] });
  });

  it('serves KV v2, KV v1 and a leased secret from the aws engine (an IAM user in LocalStack)', async () => {
    const s = running();
    expect((await s.get('/v1/secrets/app')).json()).toMatchObject({
      path: 'secret/my-app',
      data: KV2_SEED,
      version: 1,
      stale: false,
    });
    expect((await s.get('/v1/secrets/legacy')).json()).toMatchObject({ path: 'kv1/app', data: KV1_SEED, stale: false });
    const aws = (await s.get('/v1/secrets/aws')).json();
    expect(aws.leaseDuration).toBeGreaterThan(0);
    expect(typeof aws.data.access_key).toBe('string');
    expect(typeof aws.data.secret_key).toBe('string');
    // the credentials are real to LocalStack: Vault created the user they belong to
    const users = await awsQuery((localstack as StartedLocalStackContainer).getConnectionUri(), 'iam', 'ListUsers');
    expect(users).toMatch(/<UserName>vault-[^<]+<\/UserName>/);
  });

  it('renews the token (renew-self) and the aws lease (sys/leases/renew), keeping the same credentials', async () => {
    const s = running();
    const before = (await s.get('/v1/secrets/aws')).json().data.access_key as string;
    await waitFor(
      async () => (await metric(s.health, 'vault_irsa_lease_renewals_total', { outcome: 'success' })) >= 1,
      30_000,
      250,
    );
    await waitFor(
      async () => (await metric(s.health, 'vault_irsa_token_renewals_total', { outcome: 'success' })) >= 1,
      30_000,
      250,
    );
    expect((await s.get('/v1/secrets/aws')).json().data.access_key).toBe(before);
  }, 70_000);

  it('revokes its token on SIGTERM and exits 0', async () => {
    const s = running();
    expect((await s.stop()).code).toBe(0);
    expect(s.proc.output()).toContain('"event":"token_revoked"');
    expect(s.proc.output()).not.toContain(KV2_SEED.password);
    expect(s.proc.output()).not.toMatch(/hvs\.[A-Za-z0-9_-]{20,}/);
  }, 30_000);
});

suite(`K3s (${IMAGES.k3s}): the shipped webhook registration with a real API server`, () => {
  const ROLE_ARN = 'arn:aws:iam::111122223333:role/app-vault';
  const VAULT_ADDR = 'https://vault.example.com:8200';
  let k3s: StartedK3sContainer | undefined;
  let webhook: WebhookProcess | undefined;
  let dir: string | undefined;
  let core: CoreV1Api;
  let kc: KubeConfig;

  const dryRun = (namespace: string, pod: V1Pod): Promise<V1Pod> =>
    core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' });
  const admissionsLogged = () => (webhook?.logs ?? []).filter((l) => l.msg === 'admission');

  beforeAll(async () => {
    k3s = await startK3s();
    // The API server runs inside the container and dials the webhook on the Docker host: a URL webhook at the
    // host gateway, with a certificate whose SANs cover that address (caBundle trusts exactly this one).
    const gateway = await hostGatewayIp(k3s);
    dir = await mkdtemp(join(tmpdir(), 'vault-irsa-k3s-'));
    const cert = await makeTestCert({ dnsNames: [HOST_GATEWAY_NAME, 'localhost'], ips: [gateway, '127.0.0.1'] });
    const tls = await writeTestCert(join(dir, 'tls'), cert);
    const kubeconfigFile = join(dir, 'kubeconfig');
    await writeFile(kubeconfigFile, k3s.getKubeConfig(), { mode: 0o600 });
    // KUBECONFIG with `auto`: the webhook reads the ServiceAccount's eks.amazonaws.com/role-arn from this cluster.
    webhook = await startWebhookProcess({
      VAULT_IRSA_WEBHOOK_LISTEN_HOST: '0.0.0.0',
      VAULT_IRSA_WEBHOOK_TLS_CERT_FILE: tls.certFile,
      VAULT_IRSA_WEBHOOK_TLS_KEY_FILE: tls.keyFile,
      VAULT_IRSA_WEBHOOK_VAULT_ADDR: VAULT_ADDR,
      VAULT_IRSA_WEBHOOK_IAM_SERVER_ID: SERVER_ID,
      VAULT_IRSA_WEBHOOK_SIDECAR_IMAGE: SIDECAR_IMAGE,
      VAULT_IRSA_WEBHOOK_KUBERNETES: 'auto',
      KUBECONFIG: kubeconfigFile,
    });

    kc = new KubeConfig();
    kc.loadFromString(k3s.getKubeConfig());
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const sa = { metadata: { name: SERVICE_ACCOUNT, annotations: { 'eks.amazonaws.com/role-arn': ROLE_ARN } } };
    await core.createNamespacedServiceAccount({ namespace: NAMESPACE, body: sa });
    await core.createNamespacedServiceAccount({ namespace: 'kube-system', body: sa });
    await kc.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
      body: registrationFor(`https://${gateway}:${webhook.port}/mutate`, cert.cert),
    });
  }, PULL_AND_START_MS);

  afterAll(async () => {
    await webhook?.stop();
    await k3s?.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('an annotated pod, created with dryRun=All, comes back with the sidecar (native, IRSA from the ServiceAccount)', async () => {
    const annotated = podFor('web', SERVICE_ACCOUNT, {
      'vault-irsa.io/role': 'app',
      'vault-irsa.io/secret-db': 'secret/db',
    });
    // The API server picks up a new webhook configuration within moments; until then a create passes uninjected.
    const pod = await waitFor(
      async () => {
        const p = await dryRun(NAMESPACE, annotated);
        return sidecarOf(p) ? p : undefined;
      },
      60_000,
      1000,
    );

    expectSidecarInjected(pod, {
      image: SIDECAR_IMAGE,
      vaultAddr: VAULT_ADDR,
      vaultRole: 'app',
      serverId: SERVER_ID,
      secrets: { db: 'secret/db' },
      roleArn: ROLE_ARN,
    });
    await waitFor(
      () => admissionsLogged().some((l) => l.namespace === NAMESPACE && l.pod === 'web' && l.outcome === 'injected'),
      10_000,
    );
  }, 90_000);

  it('the selectors: kube-system and unannotated pods never reach the webhook; inject "false" is left alone', async () => {
    const role = { 'vault-irsa.io/role': 'app' };
    const system = await dryRun('kube-system', podFor('system', SERVICE_ACCOUNT, role));
    const plain = await dryRun(NAMESPACE, podFor('plain', SERVICE_ACCOUNT, {}));
    const optOut = await dryRun(
      NAMESPACE,
      podFor('opt-out', SERVICE_ACCOUNT, { ...role, 'vault-irsa.io/inject': 'false' }),
    );
    for (const p of [system, plain, optOut]) expectUntouched(p);
    // The opt-out pod matches every selector, so the webhook answers it (and skips it). Its log line comes after
    // any for the two earlier pods, so once it is here their absence means they were never sent.
    await waitFor(() => admissionsLogged().some((l) => l.pod === 'opt-out' && l.outcome === 'skipped'), 10_000);
    expect(admissionsLogged().filter((l) => l.namespace === 'kube-system')).toEqual([]);
    expect(admissionsLogged().filter((l) => l.pod === 'plain')).toEqual([]);
  }, 60_000);

  it("the shipped ValidatingAdmissionPolicy: type-checked by the API server, the webhook's output allowed, a pod without its sidecar denied", async () => {
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const { policy, binding } = shippedAdmissionPolicy();
    await admission.createValidatingAdmissionPolicy({ body: policy });
    await admission.createValidatingAdmissionPolicyBinding({ body: binding });
    const name = policy.metadata?.name ?? '';
    const checked = await waitFor(
      async () => {
        const p = await admission.readValidatingAdmissionPolicy({ name });
        return p.status?.typeChecking ? p : undefined;
      },
      30_000,
      500,
    );
    expect(checked.status?.typeChecking?.expressionWarnings ?? []).toEqual([]);

    // claims to be injected, so the webhook skips it: only the policy stands between it and a pod without secrets
    const claims = podFor('claims-injected', SERVICE_ACCOUNT, {
      'vault-irsa.io/role': 'app',
      'vault-irsa.io/status': 'injected',
    });
    // a new policy takes a moment to be enforced
    const denial = await waitFor(
      async () => {
        try {
          await dryRun(NAMESPACE, claims);
          return undefined;
        } catch (err) {
          return { code: (err as { code?: number }).code, body: String((err as { body?: unknown }).body ?? err) };
        }
      },
      60_000,
      1000,
    );
    expect(denial.code).toBe(422);
    expect(denial.body).toMatch(/no vault-irsa sidecar container/);

    const injected = await dryRun(
      NAMESPACE,
      podFor('web-2', SERVICE_ACCOUNT, { 'vault-irsa.io/role': 'app', 'vault-irsa.io/secret-db': 'secret/db' }),
    );
    expect(sidecarOf(injected)).toBeDefined();
    expectUntouched(
      await dryRun(
        NAMESPACE,
        podFor('opt-out-2', SERVICE_ACCOUNT, { 'vault-irsa.io/role': 'app', 'vault-irsa.io/inject': 'false' }),
      ),
    );
    // excluded namespaces are excluded from the policy too
    expect(
      sidecarOf(
        await dryRun(
          'kube-system',
          podFor('system-2', SERVICE_ACCOUNT, { 'vault-irsa.io/role': 'app', 'vault-irsa.io/status': 'injected' }),
        ),
      ),
    ).toBeUndefined();
  }, 120_000);

  // Last: it rewrites the caBundle of the registration the tests above use.
  it("TLS mode auto with the shipped RBAC, as the webhook's ServiceAccount: two replicas agree, the CA is published, nothing else is reachable", async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const o of shippedAutoTlsObjects()) await objects.create(o);
    const issued = await core.createNamespacedServiceAccountToken({
      name: 'vault-irsa',
      namespace: 'vault-irsa',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const cluster = kc.getCurrentCluster();
    if (!cluster || !issued.status?.token) throw new Error('no cluster or token');
    const asWebhook = new KubeConfig();
    asWebhook.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'webhook', token: issued.status.token }],
      contexts: [{ name: 'webhook', cluster: cluster.name, user: 'webhook' }],
      currentContext: 'webhook',
    });
    const make = (secretName: string): AutoTls =>
      new AutoTls({
        request: kubeRequester(asWebhook, 10_000),
        namespace: 'vault-irsa',
        secretName,
        webhookConfigurationName: 'vault-irsa',
        policy: {
          validityMs: 24 * 3_600_000,
          renewBeforeMs: 3_600_000,
          overlapMs: 600_000,
          dnsNames: ['vault-irsa.vault-irsa.svc'],
        },
        intervalMs: 60_000,
        apply: () => undefined,
      });
    const [a, b] = await Promise.all([make('vault-irsa-auto-tls').start(), make('vault-irsa-auto-tls').start()]);
    expect(a.cert.equals(b.cert)).toBe(true);
    const mwc = await kc
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: 'vault-irsa' });
    const bundle = Buffer.from(mwc.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString();
    const ca = new X509Certificate(
      bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? '',
    );
    expect(new X509Certificate(a.cert).checkIssued(ca)).toBe(true);
    const secret = await core.readNamespacedSecret({ name: 'vault-irsa-auto-tls', namespace: 'vault-irsa' });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    // resourceNames holds: another Secret in the same namespace is out of reach
    await expect(make('other').start()).rejects.toThrow(/cannot get Secret vault-irsa\/other: HTTP 403/);
  }, 120_000);
});
