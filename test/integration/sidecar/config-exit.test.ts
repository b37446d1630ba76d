import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from '../../../stand-ins/child.js';
import { SIDECAR_BIN } from './helpers.js';

const ok = {
  VAULT_ADDR: 'http://127.0.0.1:1',
  VAULT_IRSA_ROLE: 'app',
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/app',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/nonexistent/token',
};

async function run(env: Record<string, string | undefined>, args: string[] = []) {
  const p = startProcess(process.execPath, [SIDECAR_BIN, ...args], env);
  try {
    const exit = await p.waitForExit(20_000);
    return { exit, output: p.output() };
  } finally {
    await p.stop('SIGKILL', 1000);
  }
}

beforeAll(() => {
  if (!existsSync(SIDECAR_BIN)) throw new Error(`${SIDECAR_BIN} missing: run npx tsc -p tsconfig.build.json first`);
});

describe('the built sidecar refuses bad configuration', () => {
  it.each([
    [{ VAULT_IRSA_ROLE: undefined }, 'VAULT_IRSA_ROLE'],
    [{ VAULT_ADDR: 'not a url' }, 'VAULT_ADDR'],
    [{ VAULT_IRSA_SECRETS: '{"Bad Name":"secret/x"}' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_SECRETS: '{"db":"secret/../x"}' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_REFRESH: 'often' }, 'VAULT_IRSA_REFRESH'],
    [{ VAULT_IRSA_SECRETS: '{"tok":"auth/token/lookup-self"}' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_SECRETS: '{"tok":"//Sys/internal/ui/mounts"}' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_VAULT_TIMEOUT: 'forever' }, 'VAULT_IRSA_VAULT_TIMEOUT'],
    [{ VAULT_IRSA_LISTEN: 'nope' }, 'VAULT_IRSA_LISTEN'],
    [{ VAULT_IRSA_LOG_LEVEL: 'shout' }, 'VAULT_IRSA_LOG_LEVEL'],
    [{ VAULT_CACERT: '/nonexistent/ca.pem' }, 'VAULT_CACERT'],
  ])('%j: exits non-zero with one line naming %s', async (override, variable) => {
    const { exit, output } = await run({ ...ok, ...override });
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'fatal', variable });
  });

  it('writes that line to stderr, and nothing to stdout', () => {
    const r = spawnSync(process.execPath, [SIDECAR_BIN], {
      env: { PATH: process.env.PATH ?? '', ...ok, VAULT_IRSA_ROLE: '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ level: 'fatal', variable: 'VAULT_IRSA_ROLE' });
  });

  it('without any pod identity, says which variables it looked for', async () => {
    const { exit, output } = await run({ VAULT_ADDR: ok.VAULT_ADDR, VAULT_IRSA_ROLE: 'app' });
    expect(exit.code).toBe(2);
    for (const v of ['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'])
      expect(output).toContain(v);
  });

  it('names the token file when it cannot be written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vault-irsa-cfg-'));
    try {
      const { exit, output } = await run({
        ...ok,
        VAULT_IRSA_TOKEN_FILE: '/proc/vault-irsa/token',
        VAULT_IRSA_LISTEN: '127.0.0.1:0',
        VAULT_IRSA_HEALTH_LISTEN: '127.0.0.1:0',
      });
      expect(exit.code).toBe(1);
      expect(output).toContain('VAULT_IRSA_TOKEN_FILE');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--version prints the version; an unknown command exits 2', async () => {
    const v = await run({}, ['--version']);
    expect(v.exit.code).toBe(0);
    expect(v.output).toMatch(/^vault-irsa-sidecar \d+\.\d+\.\d+/);
    const u = await run({}, ['frobnicate']);
    expect(u.exit.code).toBe(2);
    expect(u.output).toContain('frobnicate');
  });
});
