/**
 * The sidecar's bundle is CommonJS (scripts/bundle.mjs says why: on Node 22 an ES module entry loads node's ES
 * module loader, ~2-4 MiB of private memory in every pod). These check that nothing in it brings the loader back.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess, waitFor } from '../../../stand-ins/child.js';
import { freePorts } from '../../../stand-ins/ports.js';
import { startStack } from '../../../stand-ins/stack.js';
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

/**
 * Each node module loaded stays in every pod's memory: the bundle answers pino's isMainThread itself, requires
 * sonic-boom's assert on first use, and the sidecar's file calls go through node:fs (scripts/bundle.mjs,
 * sidecar/fs-async.ts). A full start (login, both secrets read, a read served) loads none of these.
 */
maybe(
  'serving, the sidecar has loaded no worker_threads, assert, fs/promises or readline',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vault-irsa-bundle-'));
    const preload = join(dir, 'modules-report.cjs');
    const report = join(dir, 'modules.json');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(process.moduleLoadList)));`,
    );
    const stack = await startStack();
    try {
      const [apiPort, healthPort] = await freePorts(2);
      const p = startProcess(
        process.execPath,
        ['--require', preload, join(ROOT, BUNDLE)],
        stack.sidecarEnv({
          VAULT_IRSA_SECRETS: JSON.stringify({ db: 'secret/my-app', config: 'kv1/app' }),
          VAULT_IRSA_LISTEN: `127.0.0.1:${apiPort}`,
          VAULT_IRSA_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
        }),
      );
      await waitFor(async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200, 30000, 50);
      const token = readFileSync(stack.requestTokenFile, 'utf8');
      const r = await fetch(`http://127.0.0.1:${apiPort}/v1/secrets/db`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.status).toBe(200);
      expect(await p.stop('SIGTERM', 10000)).toEqual({ code: 0, signal: null });
      const loaded = JSON.parse(readFileSync(report, 'utf8')) as string[];
      const unwanted = loaded.filter((m) =>
        /^NativeModule (worker_threads|assert|internal\/assert\/|internal\/fs\/promises|internal\/readline\/)/.test(m),
      );
      expect(unwanted).toEqual([]);
      // and the run printed nothing but its own lines (an unknown V8 flag would be a bare line here)
      expect(p.output()).not.toMatch(/unrecognized flag/);
    } finally {
      await stack.close();
    }
  },
  60000,
);
