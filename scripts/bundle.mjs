#!/usr/bin/env node
/**
 * `npm run build`, second step: one esbuild bundle per program, which is what the images run.
 *
 *   dist/bundle/vault-irsa-sidecar.cjs   (bin/vault-irsa-sidecar.ts), CommonJS (below)
 *   dist/bundle/vault-irsa-webhook.mjs   (bin/vault-irsa-webhook.ts), and vault-irsa-webhook.*.mjs beside it: the
 *                                        Kubernetes client, loaded only when the webhook uses the API (below)
 *
 * A bundle sits at the depth of dist/sidecar/*.js, so `new URL('../../package.json', import.meta.url)`
 * (sidecar/version.ts, the one version source of both programs) finds package.json in both layouts.
 *
 * Why: a Node program's start-up time and resident memory grow with the number and size of the modules it
 * loads. Resolving, reading and compiling a few hundred files of node_modules (fastify, pino, prom-client,
 * the AWS SDK) was most of the sidecar's start-to-ready time and a large part of its RSS. A bundle is a few
 * file reads; ES-module dependencies are tree-shaken; minified source is less for V8 to scan and keep.
 *
 * - One file per program, no code splitting. Each dynamic import() stays lazy inside the file (esbuild wraps
 *   its target in an init function that runs on first import): `vault-irsa-sidecar wait` (the classic-mode
 *   postStart hook, which runs inside the sidecar's memory limit) does not evaluate the HTTP layer. Splitting
 *   into chunk files measured worse: resolving ~40 chunk imports at start is hot enough for V8 to optimise
 *   Node's path functions, and the optimising compiler's pages stay resident (about 1 MB more idle RSS).
 * - One exception: the webhook's Kubernetes client (@kubernetes/client-node and its dependencies, about 2.2 MB
 *   of the webhook's 3 MB) is split into chunk files, vault-irsa-webhook.<name>-<hash>.mjs, which
 *   webhook/kube-connection.ts reaches through import() only when a kubeconfig file configures the API
 *   (KUBECONFIG, ~/.kube/config: development). In a pod the webhook talks to the API server on node:https with
 *   the ServiceAccount's token and never reads those files; the ServiceAccount cache is a chunk of its own,
 *   loaded when the API is on. Inside the one file,
 *   unevaluated, its source text alone held about 6 MB of idle RSS (the script's source string and what V8
 *   keeps from reading it); a webhook with VAULT_IRSA_WEBHOOK_KUBERNETES=off never reads those files. The
 *   main file imports two small shared chunks at start (esbuild's module helpers, the error base class).
 * - Whitespace and syntax are minified in both. The sidecar's identifiers are minified too: V8 keeps a module's
 *   whole source text and every function's scope names on the heap, so a smaller text is private memory saved in
 *   every pod (idle RssAnon 12.2 → 11.2 MB measured side by side; 918 → 557 KiB). Its error classes declare
 *   their names (`override readonly name = 'ConfigError'`, checked by test/unit/shape/error-base.test.ts), as
 *   new.target.name is mangled there. esbuild's keepNames is not used: it re-attaches renamed functions' names
 *   with a defineProperty call at every closure creation, which showed in request-path profiles. The webhook
 *   (one per cluster) keeps its identifiers, so its stack traces read as written.
 * - The sidecar serves HTTP on node:http alone: fastify (about 10 MB of private memory once loaded) is the
 *   webhook's only. Nor does it hold the AWS SDK's clients: its two credential calls (STS AssumeRoleWithWebIdentity,
 *   the EKS Pod Identity agent) are its own, sidecar/aws. The SDK's client stack in the bundle cost about 1.5 MB
 *   of private memory even unevaluated (V8 keeps and pre-parses a module's whole text), and running it about 1 MB
 *   more; only the SigV4 signer of the Vault login remains. The build fails if anything pulls a module listed in
 *   FORBIDDEN into a program's bundle.
 * - The sidecar's bundle is CommonJS, the webhook's an ES module. On Node 22, the images' runtime, a program whose
 *   entry is an ES module loads node's ES module loader and its internals: a bare node:http server idles at 12.1
 *   MiB of private memory (RssAnon) as .mjs and 8.1 MiB as .cjs; the sidecar, under `npm run bench:sidecar` on
 *   Node 22.23.5, at 13.2 MiB as .mjs and 10.9 MiB as .cjs (Node 20: 8.3-8.4 MiB either way). The sidecar runs
 *   once per pod, so it is CommonJS: no top-level await in bin/vault-irsa-sidecar.ts, import() of node's
 *   built-ins compiled to require() (an import() would load the ES module loader after all), and
 *   `import.meta.url` (sidecar/version.ts) defined as the bundle's own file URL. The image's launcher require()s
 *   it for the same reason. The webhook (one per cluster, chunk files loaded by import()) stays an ES module.
 * - The webhook gives fastify no JSON schema, so fastify's schema compilers (ajv, fast-json-stringify:
 *   about a fifth of the bundle, evaluated when fastify starts) are replaced by a stub that throws if a
 *   route with a schema is ever added. test/unit/ship/image-layout.test.ts runs both bundles end to end.
 *
 * The bundles hold every dependency, so a runtime image needs only dist/bundle, node and package.json
 * (read for the version). The tsc output (dist/bin, dist/sidecar, dist/webhook) is unchanged; tests start it.
 */
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const programs = ['vault-irsa-sidecar', 'vault-irsa-webhook'];

/** Packages a program's bundle must not contain (matched against node_modules paths of its inputs). */
const FORBIDDEN = {
  'vault-irsa-sidecar': [
    'fastify',
    '@fastify',
    'find-my-way',
    'light-my-request',
    'avvio',
    'prom-client',
    // the AWS SDK's clients and credential chain: sidecar/aws makes the two credential calls itself. The
    // SigV4 signer of the Vault login stays (@smithy/signature-v4, and the @smithy/core helpers it imports,
    // mostly tree-shaken; this list is matched against the bundle's inputs, shaken or not)
    '@aws-sdk',
    '@smithy/node-http-handler',
    '@smithy/fetch-http-handler',
    '@smithy/credential-provider-imds',
    '@smithy/core/dist-cjs',
    '@smithy/core/dist-es/submodules/retry',
    '@smithy/core/dist-es/submodules/cbor',
    'bowser',
  ],
  'vault-irsa-webhook': ['prom-client'],
};

const STUB = `'use strict';
module.exports = function noSchemaCompiler() {
  return function () {
    throw new Error('vault-irsa bundle: fastify route schemas are not supported (the schema compilers are left out; see scripts/bundle.mjs)');
  };
};
module.exports.default = module.exports;
`;

/** @type {import('esbuild').Plugin} */
const noSchemaCompilers = {
  name: 'no-fastify-schema-compilers',
  setup(b) {
    b.onResolve({ filter: /^@fastify\/(ajv-compiler|fast-json-stringify-compiler)$/ }, (args) => ({
      path: args.path,
      namespace: 'vault-irsa-stub',
    }));
    b.onLoad({ filter: /.*/, namespace: 'vault-irsa-stub' }, () => ({ contents: STUB, loader: 'js' }));
  },
};

/**
 * Modules a dependency requires at start-up but uses only on a path neither program takes. Each is replaced,
 * for that importer only, by a proxy that requires the real module on first use, so the behaviour is the same
 * if the path is ever taken. [module as written, importer]:
 */
const LAZY = [
  // fastify: HTTP/2 (the `http2` option), trustProxy, plugin version checks
  ['node:http2', 'fastify/lib/server.js'],
  ['@fastify/proxy-addr', 'fastify/lib/request.js'],
  ['semver', 'fastify/lib/plugin-utils.js'],
  // pino: transports (worker threads) and multistream
  ['./transport', 'pino/lib/tools.js'],
  // sonic-boom (pino's stdout writer) asserts only when a stream is closed; node's assert loads six modules
  ['assert', 'sonic-boom/index.js'],
  ['./lib/transport', 'pino/pino.js'],
  ['./lib/multistream', 'pino/pino.js'],
].map(([mod, importer]) => [
  mod,
  new RegExp(`[\\\\/]node_modules[\\\\/]${importer.replace(/[.]/g, '\\.').replace(/\//g, '[\\\\/]')}$`),
]);

/**
 * pino reads worker_threads' isMainThread at load, to decide whether an asynchronous destination is flushed at
 * exit. Both programs run pino on the main thread only, so the answer is fixed; node's worker_threads would load
 * four more modules into every sidecar for it.
 * @type {import('esbuild').Plugin}
 */
const mainThreadOnly = {
  name: 'main-thread-only',
  setup(b) {
    b.onResolve({ filter: /^(node:)?worker_threads$/ }, (args) =>
      /[\\/]node_modules[\\/]pino[\\/]lib[\\/]tools\.js$/.test(args.importer)
        ? { path: 'worker_threads', namespace: 'vault-irsa-main-thread' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'vault-irsa-main-thread' }, () => ({
      loader: 'js',
      contents: "'use strict';\nmodule.exports = { isMainThread: true };\n",
    }));
  },
};

/** @type {import('esbuild').Plugin} */
const lazyRequires = {
  name: 'lazy-requires',
  setup(b) {
    for (const [mod, importer] of LAZY) {
      const filter = new RegExp(`^${mod.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
      b.onResolve({ filter }, async (args) => {
        if (args.pluginData === 'lazy-real' || !importer.test(args.importer)) return undefined;
        const real = await b.resolve(mod, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'lazy-real' });
        if (real.errors.length > 0) return { errors: real.errors };
        const target = real.external ? mod : real.path;
        return {
          path: target,
          namespace: 'vault-irsa-lazy',
          pluginData: { real: target, resolveDir: args.resolveDir },
        };
      });
    }
    b.onLoad({ filter: /.*/, namespace: 'vault-irsa-lazy' }, (args) => ({
      loader: 'js',
      resolveDir: args.pluginData.resolveDir,
      contents: `'use strict';
let real;
const load = () => (real ??= require(${JSON.stringify(args.pluginData.real)}));
const proxy = new Proxy(function lazy() {}, {
  get: (_t, k) => load()[k],
  has: (_t, k) => k in load(),
  apply: (_t, self, args) => Reflect.apply(load(), self, args),
  construct: (_t, args, newTarget) => Reflect.construct(load(), args, newTarget === proxy ? load() : newTarget),
});
module.exports = proxy;
`,
    }));
    // the proxy's own require() of the real module must not be proxied again
    b.onResolve({ filter: /.*/, namespace: 'vault-irsa-lazy' }, async (args) => {
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'lazy-real' });
      return r.errors.length > 0 ? { errors: r.errors } : { path: r.path, external: r.external };
    });
  },
};

/** The sidecar is CommonJS (header): what differs from the webhook's ES module build. */
const SIDECAR_CJS = {
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // import('node:https') becomes require(): a real import() would load node's ES module loader
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__vaultIrsaFileUrl' },
  // strict as the ES modules it is built from were (esbuild's own "use strict" lands after the banner)
  banner: { js: "'use strict';\nconst __vaultIrsaFileUrl = require('node:url').pathToFileURL(__filename).href;" },
};
const WEBHOOK_ESM = {
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  // CommonJS dependencies call require() for Node's built-ins; give the ES module one
  banner: {
    js: "import { createRequire as __vaultIrsaCreateRequire } from 'node:module'; const require = __vaultIrsaCreateRequire(import.meta.url);",
  },
  // the Kubernetes client in chunk files beside the bundle (header)
  splitting: true,
  chunkNames: 'vault-irsa-webhook.[name]-[hash]',
};
/** dist/bundle/<program>.<ext>: the file each image runs */
const ext = (name) => (name === 'vault-irsa-sidecar' ? 'cjs' : 'mjs');

const results = await Promise.all(
  programs.map((name) =>
    build({
      metafile: true,
      absWorkingDir: root,
      entryPoints: { [name]: join(root, `bin/${name}.ts`) },
      outdir,
      bundle: true,
      platform: 'node',
      target: 'node20',
      // ES-module builds of dependencies where a package offers both, so unused exports can be dropped
      mainFields: ['module', 'main'],
      ...(name === 'vault-irsa-sidecar' ? SIDECAR_CJS : WEBHOOK_ESM),
      minifyWhitespace: true,
      minifySyntax: true,
      minifyIdentifiers: name === 'vault-irsa-sidecar',
      legalComments: 'none',
      sourcemap: false,
      logLevel: 'warning',
      // fastify's schema-compiler stub only where fastify is (the webhook); FORBIDDEN keeps it out of the sidecar
      plugins:
        name === 'vault-irsa-webhook'
          ? [noSchemaCompilers, mainThreadOnly, lazyRequires]
          : [mainThreadOnly, lazyRequires],
    }),
  ),
);

for (const [i, name] of programs.entries()) {
  const forbidden = FORBIDDEN[name] ?? [];
  const pulled = Object.keys(results[i].metafile.inputs).filter((input) =>
    forbidden.some((pkg) =>
      new RegExp(`(^|[\\\\/])node_modules[\\\\/]${pkg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}([\\\\/]|$)`).test(input),
    ),
  );
  if (pulled.length > 0) {
    console.error(
      `bundle: dist/bundle/${name}.${ext(name)} must not contain ${forbidden.join(', ')}; it pulled in:\n  ${pulled.slice(0, 10).join('\n  ')}`,
    );
    process.exit(1);
  }
}

const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
for (const name of programs) {
  const file = `${name}.${ext(name)}`;
  const chunks = readdirSync(outdir).filter((f) => f.startsWith(`${name}.`) && f !== file);
  const chunkBytes = chunks.reduce((sum, f) => sum + statSync(join(outdir, f)).size, 0);
  console.log(
    `bundle: dist/bundle/${file} ${kib(statSync(join(outdir, file)).size)}` +
      (chunks.length > 0 ? ` (+ ${chunks.length} lazy chunk files, ${kib(chunkBytes)})` : ''),
  );
}
