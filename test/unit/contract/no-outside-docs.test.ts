/**
 * Comments and docs cite documents in the repository (docs/). Design notes kept outside it must not be named:
 * a reader of the repository cannot open them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '../../..');
const SKIP = new Set(['node_modules', 'dist', 'coverage', '.git']);
const TEXT = /\.(ts|mts|mjs|js|cjs|md|ya?ml|json|tpl|sh|txt)$|^Dockerfile/;
const OUTSIDE = new RegExp(['CONTRACT', 'VAULT-WIRE', 'DESIGN'].map((n) => `\\b${n}(\\.md|\\b)`).join('|'));

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (TEXT.test(name)) yield path;
  }
}

test('no file names a document that is not in the repository', () => {
  const hits: string[] = [];
  for (const file of files(root)) {
    if (file.endsWith('package-lock.json') || file === import.meta.filename) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (OUTSIDE.test(line) || line.includes('../shared'))
          hits.push(`${relative(root, file)}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
  }
  expect(hits).toEqual([]);
});
