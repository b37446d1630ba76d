/**
 * The V8 settings the sidecar gives itself (sidecar/v8-flags.ts): V8 accepts each of them (an unknown or renamed
 * flag is only an "unrecognized flag" line on stderr, so a node upgrade could silently drop one), and the
 * program applies them before it loads the rest, under every command that runs the server.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sidecarV8Flags } from '../../../sidecar/v8-flags.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('the V8 of the node running this test recognises every flag the sidecar sets on it', () => {
  const flags = sidecarV8Flags();
  expect(flags.length).toBeGreaterThan(0);
  const script = `const v8 = require('node:v8'); for (const f of ${JSON.stringify(flags)}) v8.setFlagsFromString(f);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect([r.status, r.stderr]).toEqual([0, '']);
  // the check is live: a flag V8 does not know is reported there
  const bad = spawnSync(
    process.execPath,
    ['-e', "require('node:v8').setFlagsFromString('--no-such-vault-irsa-flag')"],
    { encoding: 'utf8' },
  );
  expect(bad.stderr).toContain('unrecognized flag');
});

test("each V8 gets the threshold in its own terms (node 22's V8 12 has no --interrupt-budget)", () => {
  expect(sidecarV8Flags('11.3.244.8-node.33')).toEqual(['--interrupt-budget=307200']);
  expect(sidecarV8Flags('12.4.254.21-node.33')).toEqual(['--invocation-count-for-turbofan=20000']);
  expect(sidecarV8Flags('13.6.233.10-node.24')).toEqual(['--invocation-count-for-turbofan=20000']);
});

test('the server path applies them before importing the sidecar itself', () => {
  const src = readFileSync(`${root}bin/vault-irsa-sidecar.ts`, 'utf8');
  const server = src.slice(src.indexOf('command === undefined'));
  const apply = server.indexOf('applySidecarV8Flags()');
  const main = server.indexOf("import('../sidecar/main.js')");
  expect(apply).toBeGreaterThan(0);
  expect(main).toBeGreaterThan(apply);
});
