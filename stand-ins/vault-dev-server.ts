/** `vault server -dev` on a free loopback port: the real-backends tier and the demo, where a binary exists. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess, type TestProcess } from './child.js';
import { freePort } from './ports.js';
import { VaultAdmin, waitVaultHealthy } from './vault-admin.js';

/** A `vault` binary: `VAULT_BIN` if set, else `vault` on PATH; it must answer `vault version` like Vault does. */
export function detectVaultBinary(
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; bin: string; version: string } | { ok: false; reason: string } {
  const bin = env.VAULT_BIN || 'vault';
  const where = env.VAULT_BIN ? `VAULT_BIN=${bin}` : '`vault` on PATH';
  const r = spawnSync(bin, ['version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      reason:
        code === 'ENOENT'
          ? `no ${where} (set VAULT_BIN to use one elsewhere)`
          : `${where} did not run: ${r.error.message}`,
    };
  }
  const out = `${r.stdout ?? ''}`.trim();
  // Another program called `vault` would otherwise be started as a server and fail in confusing ways.
  if (r.status !== 0 || !/^Vault v\d/.test(out))
    return {
      ok: false,
      reason: `${where} is not HashiCorp Vault (\`${bin} version\` said ${JSON.stringify(out.slice(0, 80))})`,
    };
  return { ok: true, bin, version: out.split('\n')[0] ?? out };
}

export interface VaultDevServer {
  addr: string;
  admin: VaultAdmin;
  /** the server's output with the root token and unseal key blanked, for failure messages */
  output(): string;
  stop(): Promise<void>;
}

export async function startVaultDevServer(bin: string): Promise<VaultDevServer> {
  // The dev server also binds a cluster port (API port + 1) that freePort() cannot reserve: a clash makes it
  // exit at once, so try again on other ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(bin);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function startOnce(bin: string): Promise<VaultDevServer> {
  const port = await freePort();
  const rootToken = randomBytes(18).toString('base64url');
  // A private HOME: the dev server writes its root token to ~/.vault-token, which must not replace the user's.
  const home = await mkdtemp(join(tmpdir(), 'vault-irsa-vault-dev-'));
  // startProcess drops the caller's VAULT_* and AWS_* variables, so a developer's VAULT_ADDR cannot leak in.
  const proc: TestProcess = startProcess(
    bin,
    ['server', '-dev', `-dev-listen-address=127.0.0.1:${port}`, `-dev-root-token-id=${rootToken}`],
    { HOME: home, VAULT_LOG_LEVEL: 'warn' },
    { cwd: home },
  );
  let exited = false;
  proc.proc.once('exit', () => (exited = true));
  proc.proc.once('error', () => (exited = true));
  const output = () =>
    proc
      .output()
      .split(rootToken)
      .join('[root token]')
      .replace(/^(\s*Unseal Key:\s*).*$/gm, '$1[redacted]');
  const addr = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await proc.stop('SIGTERM', 5000);
    await rm(home, { recursive: true, force: true });
  };
  try {
    await waitVaultHealthy(addr, 30_000, () => !exited);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- vault server -dev output ---\n${output()}`);
  }
  return { addr, admin: new VaultAdmin(addr, rootToken), output, stop };
}
