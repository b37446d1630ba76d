/**
 * startSidecar fails closed by throwing a StartupError (event code, variable, exit code) and leaves printing
 * and exiting to main(); test/integration/sidecar/config-exit.test.ts checks the built program's fatal line.
 */
import { jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StartupError } from '../../../sidecar/errors.js';
import { startSidecar } from '../../../sidecar/main.js';

const ok = {
  VAULT_ADDR: 'http://127.0.0.1:1',
  VAULT_IRSA_ROLE: 'app',
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/app',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/nonexistent/token',
  VAULT_IRSA_LISTEN: '127.0.0.1:0',
  VAULT_IRSA_HEALTH_LISTEN: '127.0.0.1:0',
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-startup-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startupError(env: Record<string, string>): Promise<StartupError> {
  const exit = jest.spyOn(process, 'exit').mockImplementation(((code?: number) => {
    throw new Error(`process.exit(${code}) called from startSidecar`);
  }) as never);
  try {
    await startSidecar({ ...env, VAULT_IRSA_TOKEN_FILE: env.VAULT_IRSA_TOKEN_FILE ?? join(dir, 'token') });
  } catch (e) {
    if (e instanceof StartupError) return e;
    throw e;
  } finally {
    expect(exit).not.toHaveBeenCalled();
    exit.mockRestore();
  }
  throw new Error('expected a StartupError');
}

test.each([
  [{ ...ok, VAULT_IRSA_ROLE: '' }, 'config_invalid', 'VAULT_IRSA_ROLE', 2],
  [{ ...ok, VAULT_IRSA_REFRESH: 'often' }, 'config_invalid', 'VAULT_IRSA_REFRESH', 2],
  [{ ...ok, VAULT_CACERT: '/nonexistent/ca.pem' }, 'config_invalid', 'VAULT_CACERT', 2],
  [{ ...ok, VAULT_IRSA_TOKEN_FILE: '/proc/vault-irsa/token' }, 'token_file_failed', 'VAULT_IRSA_TOKEN_FILE', 1],
] as const)('%j: throws %s naming %s, exit code %d', async (env, code, variable, exitCode) => {
  const e = await startupError(env);
  expect({ code: e.code, variable: e.variable, exitCode: e.exitCode }).toEqual({ code, variable, exitCode });
  expect(e.message).toContain(variable);
});

test('a port in use: listen_failed naming the variable, exit code 1, without exiting the process', async () => {
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const port = (busy.address() as { port: number }).port;
  try {
    const e = await startupError({ ...ok, VAULT_IRSA_HEALTH_LISTEN: `127.0.0.1:${port}` });
    expect({ code: e.code, variable: e.variable, exitCode: e.exitCode }).toEqual({
      code: 'listen_failed',
      variable: 'VAULT_IRSA_HEALTH_LISTEN',
      exitCode: 1,
    });
    expect(e.message).toContain('EADDRINUSE');
  } finally {
    await new Promise((r) => busy.close(r));
  }
});
