import { request } from 'node:http';
import { parseListen } from './config.js';
import { durationFromEnv } from './duration.js';
import { SIDECAR_DEFAULTS, SIDECAR_ENV } from './env-names.js';
import { ConfigError } from './errors.js';

const WAIT_TIMEOUT_ENV = 'VAULT_IRSA_WAIT_TIMEOUT';
const DEFAULT_TIMEOUT = '120s';

/** Where to probe: the health listener, but always over loopback (0.0.0.0 / :: are bind-all, not addresses). */
export function probeTarget(listen: string): { host: string; port: number } {
  const { host, port } = parseListen(SIDECAR_ENV.healthListen, listen);
  if (host === '0.0.0.0' || host === 'localhost') return { host: '127.0.0.1', port };
  if (host === '::' || host === '::0') return { host: '::1', port };
  return { host, port };
}

function probe(host: string, port: number, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/readyz', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body.length < 4096 ? (body += c) : undefined));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * `vault-irsa-sidecar wait`, the classic-mode postStart hook: polls /readyz until it answers 200.
 * Returns the exit code: 0 ready, 1 not ready in time, 2 bad arguments.
 */
export async function runWait(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  let timeoutMs: number;
  let target: { host: string; port: number };
  try {
    let timeoutText = env[WAIT_TIMEOUT_ENV] ?? DEFAULT_TIMEOUT;
    let timeoutSource = WAIT_TIMEOUT_ENV;
    for (const a of args) {
      const m = /^--timeout=(.*)$/.exec(a);
      if (m) {
        timeoutText = m[1] ?? '';
        timeoutSource = '--timeout';
      } else throw new ConfigError(a, 'unknown argument to wait (usage: vault-irsa-sidecar wait [--timeout=120s])');
    }
    timeoutMs = durationFromEnv(timeoutSource, timeoutText, 100, 3_600_000);
    target = probeTarget((env[SIDECAR_ENV.healthListen] ?? '').trim() || SIDECAR_DEFAULTS.healthListen);
  } catch (e) {
    err(`vault-irsa-sidecar wait: ${(e as Error).message}`);
    return 2;
  }
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const res = await probe(target.host, target.port, Math.min(2000, Math.max(100, deadline - Date.now())));
      if (res.status === 200) {
        out(`vault-irsa-sidecar wait: ready (${target.host}:${target.port})`);
        return 0;
      }
      last = `${res.status} ${reasonOf(res.body)}`;
    } catch (e) {
      last = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
    if (Date.now() >= deadline) {
      err(
        `vault-irsa-sidecar wait: sidecar not ready after ${Math.round(timeoutMs / 1000)}s at http://${target.host}:${target.port}/readyz: ${last}`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
  }
}

function reasonOf(body: string): string {
  try {
    const msg = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof msg === 'string' ? msg : '';
  } catch {
    return '';
  }
}
