/**
 * The sidecar's bundle is CommonJS (scripts/bundle.mjs says why: on Node 22 an ES module entry loads node's ES
 * module loader, ~2-4 MiB of private memory in every pod). These check that nothing in it brings the loader back.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, exists, read } from './ship-helpers.js';

const BUNDLE = 'dist/bundle/vault-irsa-sidecar.cjs';
// built at all (the webhook's bundle is there): then the sidecar's must be the CommonJS file, not skipped
const built = exists('dist/bundle/vault-irsa-webhook.mjs');
if (!built) console.log('skipped: dist/bundle not built (run npm run build): the sidecar bundle is not checked');
const maybe = built ? test : test.skip;

maybe('it is CommonJS with no import() and no import.meta left (either would load the ES module loader)', () => {
  const text = read(BUNDLE);
  expect(text.split('\n').slice(0, 2)).toEqual(['#!/usr/bin/env node', "'use strict';"]);
  expect(text).not.toMatch(/\bimport\s*\(/);
  expect(text).not.toMatch(/\bimport\.meta\b/);
  expect(text).not.toMatch(/^\s*(import|export)\s/m);
});

maybe('run as the image runs it, node loads no ES module loader, and the version is read from package.json', () => {
  // a preload that reports, at exit, which of node's own ES module internals were loaded
  const dir = mkdtempSync(join(tmpdir(), 'vault-irsa-bundle-'));
  const preload = join(dir, 'esm-report.cjs');
  writeFileSync(
    preload,
    "process.on('exit', () => process.stderr.write(JSON.stringify(process.moduleLoadList.filter((m) => m.includes('internal/modules/esm/loader'))) + '\\n'));",
  );
  const pkg = JSON.parse(read('package.json')) as { version: string };
  for (const args of [['--version'], ['status', '--help']]) {
    const r = spawnSync(process.execPath, ['--require', preload, join(ROOT, BUNDLE), ...args], { encoding: 'utf8' });
    expect(r.stderr.trim().split('\n').pop()).toBe('[]');
    if (args[0] === '--version') expect(r.stdout).toBe(`vault-irsa-sidecar ${pkg.version}\n`);
  }
});
