/**
 * The sidecar against a real `vault server -dev`: the check that a real Vault accepts our login bytes.
 * Vault's AWS auth forwards the signed GetCallerIdentity to our STS stand-in, which recomputes the SigV4
 * signature, so a pass means Vault re-sent exactly what the sidecar signed. Then the token lifecycle of
 * token-lifecycle.test.ts against the real server: read, renew-self, re-login at the max TTL, re-login
 * after a 403, revoke on SIGTERM. Runs where `vault` is on PATH (or VAULT_BIN names one).
 */
import { existsSync } from 'node:fs';
import { startProcess } from '../../stand-ins/child.js';
import { startOidcIssuer, type OidcIssuerExt } from '../../stand-ins/oidc-issuer.js';
import { startFakeSts, type FakeStsExt } from '../../stand-ins/sts.js';
import {
  cleanup,
  SIDECAR_BIN,
  startSidecar,
  waitFor,
  waitReady,
  type RunningSidecar,
} from '../integration/sidecar/helpers.js';
import {
  metric,
  NAMESPACE,
  SERVICE_ACCOUNT,
  sidecarEnvFor,
  writePodIdentity,
  type PodIdentity,
} from '../../stand-ins/pod-identity.js';
import { detectVaultBinary, startVaultDevServer, type VaultDevServer } from '../../stand-ins/vault-dev-server.js';
import { configureAwsAuthAndKv, KV1_SEED, KV2_SEED, POLICY } from '../../stand-ins/vault-setup.js';

const found = detectVaultBinary();
if (!found.ok) console.log(`skipped: real Vault binary: ${found.reason}`);
const suite = found.ok ? describe : describe.skip;

// Always runs, so the file is never skipped whole (Jest hides a skipped file's output, and the line above with it).
test('the Vault binary check answers: a HashiCorp Vault, or a reason', () => {
  expect(found.ok ? /^Vault v\d/.test(found.version) : found.reason.length > 0).toBe(true);
});

const ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/app-vault`;

let oidc: OidcIssuerExt | undefined;
let sts: FakeStsExt | undefined;
let vault: VaultDevServer | undefined;
let identity: PodIdentity | undefined;
let sidecar: RunningSidecar | undefined;

const running = (): RunningSidecar => sidecar as RunningSidecar;
const callerIdentityCalls = () => (sts?.calls ?? []).filter((c) => c.action === 'GetCallerIdentity');
const logins = (outcome: 'success' | 'failure') => metric(running().health, 'vault_irsa_logins_total', { outcome });

suite(`the sidecar against a real Vault (${found.ok ? found.version : 'absent'})`, () => {
  beforeAll(async () => {
    if (!found.ok) return;
    if (!existsSync(SIDECAR_BIN))
      throw new Error(`${SIDECAR_BIN} is missing: run \`npm run build\` (npm test and npm run test:real build first)`);
    oidc = await startOidcIssuer();
    sts = await startFakeSts({ issuer: oidc, account: ACCOUNT });
    sts.addRole({ roleArn: ROLE_ARN, allowedSubjects: [`system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`] });
    vault = await startVaultDevServer(found.bin);
    // TTL 6 s, max 12 s: a renewal at ~4 s, the one at ~8 s comes back capped and the sidecar logs in again.
    await configureAwsAuthAndKv(vault.admin, {
      stsEndpoint: sts.url,
      roleArn: ROLE_ARN,
      tokenTtl: '6s',
      tokenMaxTtl: '12s',
    });
    identity = await writePodIdentity(oidc);
    sidecar = await startSidecar(
      sidecarEnvFor({
        vaultAddr: vault.addr,
        roleArn: ROLE_ARN,
        stsEndpointUrl: sts.url,
        identity,
        secrets: { app: 'secret/my-app', legacy: 'kv1/app' },
      }),
    );
    await waitReady(sidecar, 30_000);
  }, 120_000);

  afterAll(async () => {
    await cleanup(sidecar);
    await vault?.stop();
    await identity?.close();
    await sts?.close();
    await oidc?.close();
  });

  it('logs in: Vault re-sent the signed GetCallerIdentity to the STS, whose signature check passed', async () => {
    expect(await logins('success')).toBeGreaterThanOrEqual(1);
    expect(await logins('failure')).toBe(0);
    expect(running().proc.output()).toContain('"event":"login"');
    const calls = callerIdentityCalls();
    expect(calls.length).toBeGreaterThanOrEqual(1);
    // The shape docs/vault-and-aws.md describes ("How Vault checks a login") and the fake Vault copies: if a real Vault differs, the stand-in drifted.
    for (const c of calls) {
      expect(c).toMatchObject({ ok: true, method: 'POST', path: '//', host: 'sts.amazonaws.com' });
      expect(c.headerNames).toContain('x-vault-aws-iam-server-id');
    }
    const tokens = await (vault as VaultDevServer).admin.awsLoginTokens();
    expect(tokens.length).toBeGreaterThanOrEqual(1);
    expect(tokens[0]?.policies).toContain(POLICY);
    expect(tokens[0]?.meta.auth_type).toBe('iam');
  });

  it('serves KV v2 and KV v1 read from the real Vault', async () => {
    const app = await running().get('/v1/secrets/app');
    expect(app.status).toBe(200);
    expect(app.json()).toMatchObject({ name: 'app', path: 'secret/my-app', data: KV2_SEED, version: 1, stale: false });
    expect((await running().get('/v1/secrets/legacy')).json()).toMatchObject({ data: KV1_SEED, stale: false });
  });

  it('renews its token with renew-self, and logs in again once a renewal is capped by token_max_ttl', async () => {
    const s = running();
    await waitFor(
      async () => (await metric(s.health, 'vault_irsa_token_renewals_total', { outcome: 'success' })) >= 1,
      15_000,
    );
    expect(s.proc.output()).toContain('"event":"renewal"');
    await waitFor(async () => (await logins('success')) >= 2, 25_000);
    expect(s.proc.output()).toMatch(/"event":"(renewal_capped|relogin)"/);
    // every login went through Vault to the STS and verified
    expect(callerIdentityCalls().filter((c) => c.ok).length).toBeGreaterThanOrEqual(2);
    // the refresh keeps working under the new token: a new version shows up
    await (vault as VaultDevServer).admin.putKv2('secret', 'my-app', {
      ...KV2_SEED,
      password: 'rotated-after-relogin',
    });
    await waitFor(async () => (await s.get('/v1/secrets/app/password')).body === 'rotated-after-relogin', 15_000);
    expect((await s.get('/v1/secrets/app')).json()).toMatchObject({ version: 2, stale: false });
  }, 60_000);

  it('logs in again when Vault refuses a token it revoked (403), and keeps serving', async () => {
    const s = running();
    const admin = (vault as VaultDevServer).admin;
    // Revoke whatever aws-login tokens exist until the sidecar meets a refusal: a scheduled re-login racing the
    // revocation would otherwise leave it holding a fresh, valid token and nothing to observe.
    await waitFor(
      async () => {
        for (const t of await admin.awsLoginTokens()) await admin.revokeAccessor(t.accessor);
        return s.proc.output().includes('"event":"token_rejected"');
      },
      20_000,
      1500,
    );
    await admin.putKv2('secret', 'my-app', { ...KV2_SEED, password: 'after-403' });
    await waitFor(async () => (await s.get('/v1/secrets/app/password')).body === 'after-403', 15_000);
    expect(await logins('failure')).toBe(0);
  }, 60_000);

  it('revokes its token on SIGTERM, exits 0, and printed no token or secret', async () => {
    const s = running();
    const exit = await s.stop();
    expect(exit.code).toBe(0);
    const output = s.proc.output();
    expect(output).toContain('"event":"token_revoked"');
    for (const v of [KV2_SEED.password, KV1_SEED.api_key, 'rotated-after-relogin', 'after-403', s.requestToken])
      expect(output).not.toContain(v);
    // real Vault service tokens start with hvs.
    expect(output).not.toMatch(/hvs\.[A-Za-z0-9_-]{20,}/);
    // the current token and the one the capped renewal replaced: the pod leaves no live token behind
    expect(await (vault as VaultDevServer).admin.awsLoginTokens()).toEqual([]);
  }, 30_000);
});

suite('npm run demo against the real Vault', () => {
  it('runs the whole flow with `vault server -dev` in place of the stand-in and exits 0', async () => {
    if (!found.ok) return;
    const demo = startProcess(process.execPath, ['dist/demo/demo.js'], { VAULT_BIN: found.bin });
    const exit = await demo.waitForExit(90_000);
    const out = demo.output();
    expect({ code: exit.code, out }).toMatchObject({ code: 0 });
    expect(out).toContain('(vault server -dev)');
    expect(out).toContain(`GET /v1/secrets/config/password → 200 ${KV2_SEED.password}`);
    expect(out).toMatch(/long poll .* → 200 after \d+ ms, version 2/);
    expect(out).toMatch(/"version":2,"stale":true/);
    expect(out).toMatch(/demo finished in [\d.]+ s: every step passed/);
  }, 120_000);
});
