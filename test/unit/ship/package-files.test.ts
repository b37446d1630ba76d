/**
 * What ships: the npm package and the images hold product code only (bin/, sidecar/, webhook/ and their
 * bundles), never the demo, the stand-ins, the tests or the benchmarks. `npm pack --dry-run` is npm's own
 * answer to "what would be published", so the package is checked through it rather than by reading `files`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT, exists, read, walk } from './ship-helpers.js';

const PRODUCT_DIRS = ['bin', 'sidecar', 'webhook'];
const built = [
  'dist/bin/vault-irsa-sidecar.js',
  'dist/sidecar/main.js',
  'dist/webhook/server.js',
  'dist/bundle/vault-irsa-sidecar.cjs',
].every(exists);
if (!built)
  console.log(
    'skipped: dist/ not built (run npm run build): the packed program files are not checked, only what must not ship',
  );

interface PackEntry {
  path: string;
}
function packedFiles(): string[] {
  // --ignore-scripts: no prepack/prepare hooks; --json: the file list as data
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const parsed = JSON.parse(out) as Array<{ files: PackEntry[] }>;
  return (parsed[0]?.files ?? []).map((f) => f.path).sort();
}

describe('npm pack', () => {
  const files = packedFiles();

  test('ships only product files: dist/{bin,sidecar,webhook}/*.js, the bundles, package.json, README, LICENSE', () => {
    const allowed =
      /^(dist\/(bin|sidecar|webhook)\/.+\.js|dist\/bundle\/[^/]+\.[cm]js|package\.json|README\.md|LICENSE)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    for (const f of files)
      expect([f, /(^|\/)(test|demo|stand-ins|bench)(\/|$)|\.test\.|\.map$/.test(f)]).toEqual([f, false]);
  });

  test('ships what package.json bin names, and the bundles the images run', () => {
    if (!built) return;
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
    for (const target of Object.values(pkg.bin)) expect(files).toContain(target);
    expect(files).toContain('dist/bundle/vault-irsa-sidecar.cjs');
    expect(files).toContain('dist/bundle/vault-irsa-webhook.mjs');
    expect(files).toContain('dist/sidecar/main.js');
  });
});

describe('product code stays apart from the demo, stand-ins and tests', () => {
  test('every relative import in bin/, sidecar/ and webhook/ resolves inside them', () => {
    const sources = PRODUCT_DIRS.flatMap((d) => walk(d)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(10);
    const outside: string[] = [];
    for (const f of sources) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = relative(ROOT, resolve(ROOT, dirname(f), m[1] as string));
        if (!PRODUCT_DIRS.some((d) => target.startsWith(`${d}/`))) outside.push(`${f} -> ${target}`);
      }
    }
    expect(outside).toEqual([]);
  });

  test('the product build config (what the images compile) includes nothing else', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    expect([...build.include].sort()).toEqual([...PRODUCT_DIRS].sort());
  });
});

describe('one version source', () => {
  test('no product source spells the package version; only sidecar/version.ts reads it from package.json', () => {
    const version = (JSON.parse(read('package.json')) as { version: string }).version;
    const sources = PRODUCT_DIRS.flatMap((d) => walk(d)).filter((f) => f.endsWith('.ts'));
    const literal = new RegExp(`['"\`:]${version.replace(/\./g, '\\.')}['"\`]`);
    expect(sources.filter((f) => literal.test(readFileSync(join(ROOT, f), 'utf8')))).toEqual([]);
    expect(
      sources.filter(
        (f) =>
          readFileSync(join(ROOT, f), 'utf8').includes('package.json') &&
          /readFileSync/.test(readFileSync(join(ROOT, f), 'utf8')),
      ),
    ).toEqual(['sidecar/version.ts']);
  });
});
