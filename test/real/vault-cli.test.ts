/**
 * The `vault` CLI, unchanged, reading through the sidecar: `VAULT_ADDR` is the sidecar, `VAULT_TOKEN` the
 * request token file's content. `vault kv get` asks sys/internal/ui/mounts for the KV version first, then
 * reads secret/data/…; `vault read` reads the dynamic secret's path. The sidecar itself reads from the Vault
 * stand-in, which must see nothing of these commands. Runs where a `vault` binary exists (VAULT_BIN or PATH).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, SIDECAR_BIN, startSidecar, waitReady, type RunningSidecar } from '../integration/sidecar/helpers.js';
import { startStack, STACK_SEED, type StackExt } from '../../stand-ins/stack.js';
import { detectVaultBinary } from '../../stand-ins/vault-dev-server.js';

const found = detectVaultBinary();
if (!found.ok) console.log(`skipped: vault CLI through the sidecar: ${found.reason}`);
const suite = found.ok ? describe : describe.skip;

// Always runs, so the file is never skipped whole (Jest hides a skipped file's output, and the line above with it).
test('the Vault binary check answers: a HashiCorp Vault, or a reason', () => {
  expect(found.ok ? /^Vault v\d/.test(found.version) : found.reason.length > 0).toBe(true);
});

let stack: StackExt | undefined;
let sidecar: RunningSidecar | undefined;
let home: string | undefined;

suite(`the vault CLI through the sidecar (${found.ok ? found.version : 'absent'})`, () => {
  beforeAll(async () => {
    if (!existsSync(SIDECAR_BIN)) throw new Error(`${SIDECAR_BIN} is missing: run \`npm run build\``);
    stack = await startStack();
    sidecar = await startSidecar(
      stack.sidecarEnv({
        VAULT_IRSA_SECRETS: JSON.stringify({ app: 'secret/my-app', legacy: 'kv1/app', db: 'database/creds/app' }),
      }),
    );
    await waitReady(sidecar);
    home = await mkdtemp(join(tmpdir(), 'vault-irsa-cli-'));
    stack.vault.clearRequests();
  }, 60_000);

  afterAll(async () => {
    await cleanup(sidecar);
    await stack?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** The CLI as an app's entrypoint runs it; none of the caller's VAULT_* variables leak in. */
  function vault(args: string[], token = sidecar?.requestToken ?? '') {
    if (!found.ok) throw new Error('no vault binary');
    const r = spawnSync(found.bin, args, {
      encoding: 'utf8',
      timeout: 20_000,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home as string,
        VAULT_ADDR: (sidecar as RunningSidecar).api,
        VAULT_TOKEN: token,
      },
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  it('vault kv get secret/my-app: KV v2 through the mount preflight', () => {
    const r = vault(['kv', 'get', '-format=json', 'secret/my-app']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.data.data).toEqual(STACK_SEED);
    expect(out.data.metadata.version).toBe(1);
  });

  it('vault kv get kv1/app and vault read database/creds/app (twice: the same lease)', () => {
    expect(JSON.parse(vault(['kv', 'get', '-format=json', 'kv1/app']).stdout).data).toEqual({ api_key: 'kv1-api-key' });
    const a = JSON.parse(vault(['read', '-format=json', 'database/creds/app']).stdout);
    const b = JSON.parse(vault(['read', '-format=json', 'database/creds/app']).stdout);
    expect(a.lease_id).toMatch(/^database\/creds\/app\//);
    expect(b.lease_id).toBe(a.lease_id);
    expect(b.data).toEqual(a.data);
  });

  it('an undeclared path and a wrong token: permission denied (exit 2)', () => {
    const undeclared = vault(['kv', 'get', 'secret/not-declared']);
    expect(undeclared.status).toBe(2);
    expect(undeclared.stderr).toMatch(/permission denied/);
    const wrong = vault(['kv', 'get', 'secret/my-app'], 'not-the-request-token');
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/permission denied/);
  });

  it('none of it reached Vault', () => {
    expect(stack?.vault.requests.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });
});
