import { readFileSync } from 'node:fs';

/**
 * The one version source for both programs: package.json's `version`, read once at load. The images copy
 * package.json beside dist/ for this; `npm version` is then the only place a release changes it.
 */
function readPackageVersion(): string {
  // dist/sidecar/version.js and dist/bundle/*.mjs sit two levels below the root; the source (jest) one level
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'vault-irsa' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

export const VERSION: string = readPackageVersion();

/** The webhook's default sidecar image: the sidecar of the same release. */
export const DEFAULT_SIDECAR_IMAGE = `ghcr.io/vault-irsa/sidecar:${VERSION}`;
