/**
 * One error base: every error class either program exports extends VaultIrsaError and carries a stable,
 * snake_case `code`, so callers branch on the code and never on message text (which is for people).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VaultIrsaError } from '../../../sidecar/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

test('every exported Error subclass of sidecar/ and webhook/ extends VaultIrsaError', async () => {
  const found: string[] = [];
  const strays: string[] = [];
  for (const file of [...sources('sidecar'), ...sources('webhook')]) {
    const mod = (await import(join(ROOT, file))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
      found.push(`${relative(ROOT, join(ROOT, file))}:${name}`);
      if (value !== VaultIrsaError && !(value.prototype instanceof VaultIrsaError)) strays.push(`${file}:${name}`);
    }
  }
  expect(found.length).toBeGreaterThanOrEqual(10);
  expect(strays).toEqual([]);
});

test('webhook errors carry their code and name like the sidecar ones', async () => {
  const { ConfigError } = await import('../../../webhook/config.js');
  const { TlsError } = await import('../../../webhook/tls.js');
  const { IdentityError } = await import('../../../webhook/inject/aws-identity.js');
  const { KubeTimeoutError } = await import('../../../webhook/service-accounts.js');
  const cases: Array<[VaultIrsaError, string, string]> = [
    [new ConfigError('VAULT_IRSA_WEBHOOK_PORT', 'is not a port'), 'invalid_config', 'ConfigError'],
    [new TlsError('cannot read TLS key'), 'tls_load_failed', 'TlsError'],
    [new IdentityError('bad role ARN'), 'invalid_identity', 'IdentityError'],
    [new KubeTimeoutError('GET timed out'), 'kube_timeout', 'KubeTimeoutError'],
  ];
  for (const [err, code, name] of cases) {
    expect(err).toBeInstanceOf(VaultIrsaError);
    expect([err.code, err.name]).toEqual([code, name]);
    expect(err.code).toMatch(/^[a-z][a-z0-9_]*$/);
  }
});

test('every exported error class of sidecar/ declares its own name (the sidecar bundle minifies class names)', async () => {
  const missing: string[] = [];
  for (const file of sources('sidecar')) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const mod = (await import(join(ROOT, file))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || !(value.prototype instanceof VaultIrsaError)) continue;
      if (!text.includes(`override readonly name = '${name}';`)) missing.push(`${file}:${name}`);
    }
  }
  expect(missing).toEqual([]);
});
