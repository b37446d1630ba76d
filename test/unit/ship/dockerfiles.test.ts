/**
 * Dockerfile.webhook, Dockerfile.sidecar and .dockerignore, checked without a Docker engine: pinned bases, a
 * numeric non-root USER, deterministic install, COPY sources that exist, an entry point that is the bundle of
 * the program package.json names (scripts/bundle.mjs, bin/<program>.ts), and a build context that holds what
 * the build reads and nothing else.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SIDECAR_COMMAND, SIDECAR_UID } from '../../../webhook/inject/names.js';
import { dockerignore, parseCopy, parseDockerfile, resolveImage, type Dockerfile } from './dockerfile.js';
import { ROOT, exists, read, walk, type Obj } from './ship-helpers.js';

const pkg = JSON.parse(read('package.json')) as Obj & { bin: Record<string, string>; scripts?: Record<string, string> };
const builtDist = [
  'dist/bin/vault-irsa-webhook.js',
  'dist/bin/vault-irsa-sidecar.js',
  'dist/bundle/vault-irsa-webhook.mjs',
  'dist/bundle/vault-irsa-sidecar.cjs',
].every(exists);
if (!builtDist)
  console.log(
    'skipped: dist/bin/vault-irsa-*.js or dist/bundle/vault-irsa-* missing (run npm run build): dist COPY sources not checked',
  );
const bundleScript = read('scripts/bundle.mjs');
/** What the image runs: the esbuild bundle of the program. */
/** The sidecar's bundle is CommonJS, the webhook's an ES module (scripts/bundle.mjs says why). */
const bundleOf = (program: string): string =>
  `dist/bundle/${program}.${program === 'vault-irsa-sidecar' ? 'cjs' : 'mjs'}`;
/** The webhook's lazily loaded chunk files beside its bundle (scripts/bundle.mjs); the sidecar has none. */
const chunksOf = (program: string): string[] =>
  program === 'vault-irsa-webhook' ? [`dist/bundle/${program}.*.mjs`] : [];
/** Build files a COPY source names: itself, or those matching a `*` in its last segment. */
const matching = (rel: string): string[] => {
  const slash = rel.lastIndexOf('/');
  const name = rel.slice(slash + 1);
  if (!name.includes('*')) return exists(rel) ? [rel] : [];
  const re = new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  const dir = rel.slice(0, slash);
  return exists(dir)
    ? readdirSync(join(ROOT, dir))
        .filter((f) => re.test(f))
        .map((f) => `${dir}/${f}`)
    : [];
};

const images = [
  { file: 'Dockerfile.webhook', program: 'vault-irsa-webhook', port: 8443 },
  { file: 'Dockerfile.sidecar', program: 'vault-irsa-sidecar', port: 8766 },
] as const;

const lastStage = (df: Dockerfile) => df.stages.length - 1;

describe.each(images)('$file', ({ file, program, port }) => {
  const df = parseDockerfile(read(file));
  const final = df.instructions.filter((i) => i.stage === lastStage(df));
  const build = df.instructions.filter((i) => i.stage === 0);

  test('the sidecar image keeps glibc to two malloc arenas (its private memory stays flat; README Performance)', () => {
    const env = final.filter((i) => i.op === 'ENV').map((i) => i.args);
    if (program === 'vault-irsa-sidecar') expect(env).toContain('MALLOC_ARENA_MAX=2');
    else expect(env.some((e) => e.startsWith('MALLOC_ARENA_MAX'))).toBe(false);
  });

  test('is multi-stage: a build stage and a runtime stage', () => {
    expect(df.stages.length).toBe(2);
    expect(df.stages[0]?.alias).toBe('build');
  });

  test('every base image is pinned by a version tag (or digest), never latest', () => {
    for (const s of df.stages) {
      const image = resolveImage(df, s.image);
      expect(image).not.toMatch(/\$\{/);
      const m = /^(?:[^/]+\/)*[^/:@]+(?::([^@]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(image);
      expect([image, m !== null]).toEqual([image, true]);
      const tag = m?.[1];
      expect([image, (tag !== undefined && tag !== 'latest') || image.includes('@sha256:')]).toEqual([image, true]);
    }
    expect(resolveImage(df, df.stages[0]?.image ?? '')).toMatch(/^node:\d+\.\d+\.\d+-/);
  });

  test('the runtime image is a current LTS Node (22 or 24), distroless and non-root by default', () => {
    const runtime = resolveImage(df, df.stages[lastStage(df)]?.image ?? '');
    expect(runtime).toMatch(/^gcr\.io\/distroless\/nodejs(22|24)-debian1[23]:nonroot$/);
    // the build stage's Node major matches the runtime's
    const buildMajor = /^node:(\d+)\./.exec(resolveImage(df, df.stages[0]?.image ?? ''))?.[1];
    expect(runtime).toContain(`nodejs${buildMajor}-`);
  });

  test('the comment says why this runtime base was chosen', () => {
    expect(read(file)).toMatch(/Runtime base: distroless[\s\S]*No shell/);
  });

  test('runs as a numeric non-root USER (the webhook: 65532; the sidecar: the UID the webhook gives it, not a common app UID)', () => {
    const users = final.filter((i) => i.op === 'USER');
    expect(users.length).toBe(1);
    const user = users[0]?.args ?? '';
    expect(user).toMatch(/^[0-9]+(:[0-9]+)?$/);
    expect(Number(user.split(':')[0])).toBe(program === 'vault-irsa-sidecar' ? SIDECAR_UID : 65532);
    expect([0, 1000, 10001, 65532, 65534]).not.toContain(SIDECAR_UID);
  });

  test('installs deterministically, then builds the product only (tsc over product sources, and the bundles)', () => {
    const runs = build
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toMatch(/\bnpm ci\b/);
    expect(runs).not.toMatch(/\bnpm install\b/);
    expect(runs).toMatch(/\bnpm run build:product\b/);
    expect(runs.indexOf('npm ci')).toBeLessThan(runs.indexOf('npm run build:product'));
    expect(pkg.scripts?.['build:product']).toMatch(/^tsc -p tsconfig\.build\.json && node scripts\/bundle\.mjs$/);
    expect(read(file)).toContain('esbuild bundle (dist/bundle/');
  });

  test('the runtime stage copies only the bundle and package.json from the build: no node_modules, no tsc output', () => {
    const copies = final
      .filter((i) => i.op === 'COPY')
      .map(parseCopy)
      .filter((c) => c.heredoc === undefined);
    for (const c of copies) expect(c.from).toBe('build');
    expect(copies.flatMap((c) => c.sources).sort()).toEqual(
      [`/app/${bundleOf(program)}`, ...chunksOf(program).map((c) => `/app/${c}`), '/app/package.json'].sort(),
    );
    for (const chunks of chunksOf(program))
      expect(copies.find((c) => c.sources.includes(`/app/${chunks}`))?.dest).toBe('./dist/bundle/');
    expect(copies.find((c) => c.sources.includes(`/app/${bundleOf(program)}`))?.dest).toBe(`./${bundleOf(program)}`);
    expect(final.some((i) => i.op === 'RUN')).toBe(false);
  });

  test('every COPY source exists in the repository (after a build, for dist/)', () => {
    const ignored = dockerignore(read('.dockerignore'));
    for (const ins of df.instructions.filter((i) => i.op === 'COPY')) {
      const c = parseCopy(ins);
      if (c.heredoc !== undefined) continue;
      for (const src of c.sources) {
        // build-stage paths under /app/ are the repository's (WORKDIR /app, COPY . .)
        const rel = c.from ? src.replace(/^\/app\/?/, '') : src.replace(/^\.\/?/, '');
        if (rel === '') continue;
        if (rel.startsWith('dist') && !builtDist) continue;
        expect([src, matching(rel).length > 0]).toEqual([src, true]);
        if (!c.from && rel !== '.') expect([src, ignored(rel)]).toEqual([src, false]);
      }
    }
    if (builtDist) expect(exists(pkg.bin[program] ?? 'missing')).toBe(true);
    if (builtDist) expect(exists(bundleOf(program))).toBe(true);
  });

  test(`the entry point is the bundle of package.json's ${program}, run by the distroless node in exec form`, () => {
    const eps = final.filter((i) => i.op === 'ENTRYPOINT');
    expect(eps.length).toBe(1);
    const ep = JSON.parse(eps[0]?.args ?? '[]') as string[];
    expect(ep).toEqual(['/nodejs/bin/node', `/app/${bundleOf(program)}`]);
    // package.json's program (dist/bin/<program>.js, from bin/<program>.ts) is what the bundle is built from
    expect(pkg.bin[program]).toBe(`dist/bin/${program}.js`);
    expect(bundleScript).toContain('entryPoints: { [name]: join(root, `bin/${name}.ts`) }');
    expect(bundleScript).toContain(`'${program}'`);
  });

  test('the build checks the bundle it ships exists', () => {
    const runs = build
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toContain(`test -f ${bundleOf(program)}`);
  });

  test(`exposes port ${port}`, () => {
    expect(
      final
        .filter((i) => i.op === 'EXPOSE')
        .map((i) => i.args)
        .join(' '),
    ).toContain(String(port));
  });
});

describe('Dockerfile.sidecar launcher', () => {
  const df = parseDockerfile(read('Dockerfile.sidecar'));
  const launcher = df.instructions
    .filter((i) => i.op === 'COPY')
    .map(parseCopy)
    .find((c) => c.heredoc !== undefined);

  test(`makes "${SIDECAR_COMMAND}" resolvable on PATH for the postStart exec hook`, () => {
    expect(launcher?.dest).toBe(`/usr/local/bin/${SIDECAR_COMMAND}`);
    expect(launcher?.chmod).toBe('0755');
    expect(read('Dockerfile.sidecar').split('\n')[0]).toMatch(/^# syntax=docker\/dockerfile:1\.([4-9]|\d\d)/);
  });

  test('its shebang names the distroless node (no /usr/bin/env, no shell) and it requires the real entry point', () => {
    const body = launcher?.heredoc ?? '';
    expect(body.split('\n')[0]).toBe('#!/nodejs/bin/node');
    expect(body).toContain(`'/app/${bundleOf('vault-irsa-sidecar')}'`);
    expect(body).toContain('process.argv[1] = entry');
    // require(), not import(): the bundle is CommonJS, and an import() would load node's ES module loader
    expect(body).toContain('require(entry)');
    expect(body).not.toMatch(/\bimport\(/);
  });
});

describe('.dockerignore', () => {
  const ignored = dockerignore(read('.dockerignore'));
  const buildConfig = JSON.parse(read('tsconfig.build.json')) as { include: string[] };

  test('the matcher follows BuildKit rules (last match wins, "!" re-includes, parents count)', () => {
    const m = dockerignore('*\n!src/\n**/*.test.ts\n');
    expect(m('README.md')).toBe(true);
    expect(m('src/a.ts')).toBe(false);
    expect(m('src/deep/b.ts')).toBe(false);
    expect(m('src/deep/b.test.ts')).toBe(true);
    expect(m('node_modules/x/index.js')).toBe(true);
  });

  test('admits every source the build compiles and the files npm ci, tsc and the bundle step read', () => {
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle.mjs'])
      expect([f, ignored(f)]).toEqual([f, false]);
    const sources = buildConfig.include
      .flatMap((dir) => walk(dir))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(0);
    for (const f of sources) expect([f, ignored(f)]).toEqual([f, false]);
    for (const dir of buildConfig.include) expect([dir, ignored(`${dir}/x.ts`)]).toEqual([dir, false]);
  });

  test('keeps local artefacts, tests, secrets and VCS data out of the context', () => {
    for (const f of [
      'node_modules/yaml/package.json',
      'dist/bin/vault-irsa-webhook.js',
      '.git/HEAD',
      'coverage/lcov.info',
      'test/unit/smoke.test.ts',
      'test/fixtures/x.yaml',
      'charts/vault-irsa/values.yaml',
      'manifests/install.yaml',
      '.env',
      'kubeconfig',
      'sidecar/config.test.ts',
      'Dockerfile.webhook',
      'test/bench/results/sidecar.json',
      // not product code: the demo, the stand-ins and every test helper stay out of the image build
      'demo/demo.ts',
      'stand-ins/vault.ts',
      'test/support/fake-kube-api.ts',
      'test/bench/common.ts',
      'tsconfig.dev.json',
    ])
      expect([f, ignored(f)]).toEqual([f, true]);
  });
});
