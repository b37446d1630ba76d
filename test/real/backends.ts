/**
 * Which real backends this machine has. Each answer comes back fast (no daemon, no binary: milliseconds),
 * so a machine without them skips the tier at once instead of waiting on a connect timeout.
 */
import { spawnSync } from 'node:child_process';
import { getContainerRuntimeClient } from 'testcontainers';

export type Detected<T> = ({ ok: true } & T) | { ok: false; reason: string };

/** A `vault` binary: `VAULT_BIN` if set, else `vault` on PATH; it must answer `vault version` like Vault does. */
export function detectVaultBinary(env: NodeJS.ProcessEnv = process.env): Detected<{ bin: string; version: string }> {
  const bin = env.VAULT_BIN || 'vault';
  const where = env.VAULT_BIN ? `VAULT_BIN=${bin}` : '`vault` on PATH';
  const r = spawnSync(bin, ['version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `no ${where} (set VAULT_BIN to use one elsewhere)` : `${where} did not run: ${r.error.message}` };
  }
  const out = `${r.stdout ?? ''}`.trim();
  // Another program called `vault` would otherwise be started as a server and fail in confusing ways.
  if (r.status !== 0 || !/^Vault v\d/.test(out)) return { ok: false, reason: `${where} is not HashiCorp Vault (\`${bin} version\` said ${JSON.stringify(out.slice(0, 80))})` };
  return { ok: true, bin, version: out.split('\n')[0] ?? out };
}

/**
 * A container runtime testcontainers can use. getContainerRuntimeClient() tries its strategies in turn
 * (TESTCONTAINERS_HOST_OVERRIDE, DOCKER_HOST / ~/.testcontainers.properties, the unix sockets) and throws
 * within milliseconds when none answers; the race only guards a DOCKER_HOST that accepts and never replies.
 */
export async function detectDocker(timeoutMs = 10_000): Promise<Detected<{ host: string; serverVersion: string }>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    const client = await Promise.race([getContainerRuntimeClient(), timeout]);
    return { ok: true, host: client.info.containerRuntime.host, serverVersion: String(client.info.containerRuntime.serverVersion) };
  } catch (err) {
    return { ok: false, reason: `testcontainers found no container runtime (${err instanceof Error ? err.message : String(err)})` };
  } finally {
    clearTimeout(timer);
  }
}
