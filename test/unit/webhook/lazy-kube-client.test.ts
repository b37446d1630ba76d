/**
 * @kubernetes/client-node is about half of the webhook's bundle and megabytes of heap once evaluated; a
 * webhook with VAULT_IRSA_WEBHOOK_KUBERNETES=off and TLS from files never uses it. So no module the webhook
 * imports statically from its entry may import it (a type-only import is erased); kube-client.ts and
 * service-accounts.ts are reached through import() only when the API is used.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Specifiers of a module's static value imports and re-exports (`import type` / `export type` left out). */
function staticImports(source: string): string[] {
  const out: string[] = [];
  const re = /^(?:import|export)\s+(?!type\b)(?:[^;'"]*?\sfrom\s+)?'([^']+)';/gms;
  for (const m of source.matchAll(re)) if (m[1]) out.push(m[1]);
  return out;
}

/** Every module reachable from `entry` (a .ts path under ROOT) through static value imports. */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.startsWith(ROOT)) continue;
    for (const spec of staticImports(readFileSync(file, 'utf8'))) {
      todo.push(spec.startsWith('.') ? join(dirname(file), spec).replace(/\.js$/, '.ts') : spec);
    }
  }
  return seen;
}

test('the webhook entry reaches @kubernetes/client-node through import() only', () => {
  const graph = staticGraph(join(ROOT, 'bin/vault-irsa-webhook.ts'));
  expect(graph.has(join(ROOT, 'webhook/server.ts'))).toBe(true); // the walk does follow the imports
  expect([...graph].filter((m) => m.startsWith('@kubernetes/'))).toEqual([]);
  expect(graph.has(join(ROOT, 'webhook/kube-client.ts'))).toBe(false);
  expect(graph.has(join(ROOT, 'webhook/service-accounts.ts'))).toBe(false);
});

test('the import scan sees value imports and skips type-only ones', () => {
  const src = [
    "import { a } from './a.js';",
    "import type { B } from './b.js';",
    "import {\n  c,\n  type D,\n} from './c.js';",
    "export { e } from './e.js';",
    "export type { F } from './f.js';",
    "import 'side-effect';",
  ].join('\n');
  expect(staticImports(src)).toEqual(['./a.js', './c.js', './e.js', 'side-effect']);
});

const BUNDLE = join(ROOT, 'dist/bundle/vault-irsa-webhook.mjs');
const bundleTest = existsSync(BUNDLE) ? test : test.skip;
if (!existsSync(BUNDLE)) console.log('skipped: dist/bundle/vault-irsa-webhook.mjs missing (run npm run build first)');

// scripts/bundle.mjs: the client's text, unevaluated, still cost megabytes of idle memory inside the one file
bundleTest("the webhook's bundle file holds no Kubernetes client: that is in the chunk files beside it", () => {
  const defines = /var KubeConfig=class|class KubeConfig\b/;
  expect(readFileSync(BUNDLE, 'utf8')).not.toMatch(defines);
  const chunks = readdirSync(join(ROOT, 'dist/bundle')).filter(
    (f) => f.startsWith('vault-irsa-webhook.') && f !== 'vault-irsa-webhook.mjs',
  );
  expect(chunks.filter((f) => defines.test(readFileSync(join(ROOT, 'dist/bundle', f), 'utf8')))).toHaveLength(1);
});
