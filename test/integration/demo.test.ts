/** `npm run demo` = build, then dist/demo/demo.js; npm test has built already, so this runs the second half. */
import { readFileSync } from 'node:fs';
import { startProcess } from '../../stand-ins/child.js';
import { detectHvac } from '../../stand-ins/vault-clients.js';

test('package.json: the demo script builds, then runs the built demo', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.demo).toBe('npm run build && node dist/demo/demo.js');
});

test('the demo runs the whole flow on this machine and exits 0', async () => {
  // the stand-in Vault even where a `vault` binary exists: the real-Vault run is in test/real/vault-binary.test.ts
  const demo = startProcess(process.execPath, ['dist/demo/demo.js'], { VAULT_IRSA_DEMO_VAULT: 'stand-in' });
  const exit = await demo.waitForExit(60_000);
  const out = demo.output();
  expect({ code: exit.code, out }).toMatchObject({ code: 0 });
  expect(out).toMatch(/allowed: true, \d+ JSON-patch operations/);
  expect(out).toMatch(/initContainers\[0\] vault-irsa,.*restartPolicy: Always/);
  expect(out).toMatch(/startup probe GET \/readyz → 200 after \d+ ms/);
  expect(out).toContain('GET /v1/secrets/config/password → 200 s3cr3t-from-vault');
  expect(out).toContain('the same GET without the token → 401');
  // an app's own Vault client through the sidecar (VAULT_ADDR from vault-irsa.io/vault-api)
  expect(out).toMatch(/VAULT_ADDR=http:\/\/127\.0\.0\.1:\d+ \(the sidecar, not Vault\)/);
  if (detectHvac().ok) expect(out).toContain('→ password s3cr3t-from-vault, version 1');
  else expect(out).toMatch(/skipped here: no hvac/);
  expect(out).toMatch(/long poll .* → 200 after \d+ ms, version 2/);
  expect(out).toMatch(/"version":2,"stale":true/);
  expect(out).toContain('stale: false');
  expect(out).toContain('sidecar exited with code 0; Vault tokens still live: 0');
  expect(out).toContain('no secret value, request token, ServiceAccount token or AWS key in them');
  expect(out).toMatch(/demo finished in [\d.]+ s: every step passed/);
}, 90_000);

test('without Python and hvac the demo says so at that step and goes on', async () => {
  const demo = startProcess(process.execPath, ['dist/demo/demo.js'], {
    VAULT_IRSA_DEMO_VAULT: 'stand-in',
    VAULT_IRSA_DEMO_PYTHON: '/nonexistent/python3',
  });
  const exit = await demo.waitForExit(60_000);
  const out = demo.output();
  expect({ code: exit.code, out }).toMatchObject({ code: 0 });
  expect(out).toMatch(/skipped here: no hvac \(\/nonexistent\/python3 not found\)/);
  expect(out).toMatch(/demo finished in [\d.]+ s: every step passed/);
}, 90_000);
