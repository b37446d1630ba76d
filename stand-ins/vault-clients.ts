/**
 * Real Vault clients run as an app would run them: hvac from Debian's python3-hvac (Debian's own
 * /usr/bin/python3: a pyenv or venv python3 on PATH may not see Debian's packages). Used by the Vault-client
 * tests and by the demo; where hvac is missing both say so and go on.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const DEBIAN_PYTHON = '/usr/bin/python3';

export type Detected = { ok: true } | { ok: false; reason: string };

export function detectHvac(python = DEBIAN_PYTHON): Detected {
  if (!existsSync(python)) return { ok: false, reason: `${python} not found` };
  const r = spawnSync(python, ['-c', 'import hvac'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0
    ? { ok: true }
    : { ok: false, reason: `${python} cannot import hvac (apt-get install python3-hvac)` };
}

/**
 * Runs a Python program with only the variables given (and PATH): no proxy variables, since the sidecar
 * refuses proxied requests, and none of the caller's VAULT_* settings.
 */
export function runPython(
  code: string,
  env: Record<string, string>,
  opts: { python?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      opts.python ?? DEBIAN_PYTHON,
      ['-c', code],
      {
        encoding: 'utf8',
        timeout: opts.timeoutMs ?? 30_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
