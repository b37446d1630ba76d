/** Start the built sidecar as a child process and talk to it the way an app in the pod would. */
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startProcess, waitFor, type TestProcess } from '../../../stand-ins/child.js';

export const SIDECAR_BIN = resolve(process.cwd(), 'dist/bin/vault-irsa-sidecar.js');

export interface RunningSidecar {
  proc: TestProcess;
  api: string; // http://127.0.0.1:<port>
  health: string;
  tokenFile: string;
  requestToken: string;
  /** a private HOME / TMPDIR / cwd, for the leak check */
  scratch: string;
  get(
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: string; json: () => any; headers: Headers }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startSidecar(
  env: Record<string, string | undefined>,
  opts: { echo?: boolean } = {},
): Promise<RunningSidecar> {
  const scratch = await mkdtemp(join(tmpdir(), 'vault-irsa-sidecar-it-'));
  const fullEnv: Record<string, string | undefined> = {
    VAULT_IRSA_LISTEN: '127.0.0.1:0',
    VAULT_IRSA_HEALTH_LISTEN: '127.0.0.1:0',
    ...env,
    HOME: scratch,
    TMPDIR: scratch,
  };
  const proc = startProcess(process.execPath, [SIDECAR_BIN], fullEnv, {
    cwd: scratch,
    echo: opts.echo ?? process.env.SIDECAR_ECHO === '1',
  });
  const line = await proc.waitForLine(/"event":"started"/, 20_000);
  const started = JSON.parse(line) as { api: string; health: string };
  const tokenFile = fullEnv.VAULT_IRSA_TOKEN_FILE as string;
  const requestToken = await readFile(tokenFile, 'utf8');
  const api = `http://${started.api}`;
  const health = `http://${started.health}`;
  return {
    proc,
    api,
    health,
    tokenFile,
    requestToken,
    scratch,
    async get(path, headers = {}) {
      const base = path.startsWith('http') ? '' : api;
      const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${requestToken}`, ...headers } });
      const body = await r.text();
      return { status: r.status, body, json: () => JSON.parse(body), headers: r.headers };
    },
    async stop() {
      const res = await proc.stop('SIGTERM', 10_000);
      return res;
    },
  };
}

export async function cleanup(s: RunningSidecar | undefined): Promise<void> {
  if (!s) return;
  await s.proc.stop('SIGKILL', 1000).catch(() => undefined);
  await rm(s.scratch, { recursive: true, force: true });
}

/** Waits until /readyz answers 200 on the health listener. */
export async function waitReady(s: RunningSidecar, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => (await fetch(`${s.health}/readyz`)).status === 200, timeoutMs, 50);
}

/** Every regular file under `dir` (recursively) with its content. */
export async function filesUnder(dir: string): Promise<Array<{ path: string; content: string }>> {
  const out: Array<{ path: string; content: string }> = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const p = join(dir, name);
    const st = await stat(p).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) out.push(...(await filesUnder(p)));
    else if (st.isFile()) out.push({ path: p, content: await readFile(p, 'utf8') });
  }
  return out;
}

export { waitFor };
