/**
 * The V8 settings the sidecar gives itself (sidecar/v8-flags.ts): V8 accepts each of them (an unknown or renamed
 * flag is only an "unrecognized flag" line on stderr, so a node upgrade could silently drop one), and the
 * program applies them before it loads the rest, under every command that runs the server.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SIDECAR_V8_FLAGS } from '../../../sidecar/v8-flags.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('V8 recognises every flag the sidecar sets', () => {
  expect(SIDECAR_V8_FLAGS.length).toBeGreaterThan(0);
  const script = `const v8 = require('node:v8'); for (const f of ${JSON.stringify(SIDECAR_V8_FLAGS)}) v8.setFlagsFromString(f);`;
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

test('the server path applies them before importing the sidecar itself', () => {
  const src = readFileSync(`${root}bin/vault-irsa-sidecar.ts`, 'utf8');
  const server = src.slice(src.indexOf('command === undefined'));
  const apply = server.indexOf('applySidecarV8Flags()');
  const main = server.indexOf("import('../sidecar/main.js')");
  expect(apply).toBeGreaterThan(0);
  expect(main).toBeGreaterThan(apply);
});
