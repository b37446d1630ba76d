import { SecretPathError } from './errors.js';

/**
 * From a path as a user writes it (`vault kv get secret/my-app`, `vault read database/creds/app`) and the
 * mount it lives on (sys/internal/ui/mounts) to the API path to read. Pure.
 */
export interface MountInfo {
  /** mount path with trailing slash, e.g. "secret/" or "team/kv/" */
  path: string;
  type: string;
  /** KV version; undefined for other engines */
  kvVersion?: 1 | 2;
}

export type SecretKind = 'kv1' | 'kv2' | 'other';

export interface ReadTarget {
  apiPath: string;
  kind: SecretKind;
}

/** The `data` of GET sys/internal/ui/mounts/<path>; undefined when it does not look like one. */
export function parseMountInfo(body: unknown): MountInfo | undefined {
  const data = (body as { data?: unknown } | null)?.data as
    { path?: unknown; type?: unknown; options?: { version?: unknown } | null } | undefined;
  if (!data || typeof data.path !== 'string' || typeof data.type !== 'string') return undefined;
  const path = data.path.endsWith('/') ? data.path : `${data.path}/`;
  const isKv = data.type === 'kv' || data.type === 'generic';
  if (!isKv) return { path, type: data.type };
  const version = data.options?.version;
  return { path, type: data.type, kvVersion: version === '2' || version === 2 ? 2 : 1 };
}

/**
 * KV v2 `secret/my-app` → `secret/data/my-app`, nested mounts included (`team/kv/app` on `team/kv/` →
 * `team/kv/data/app`). A path already written the `vault read` way (`secret/data/my-app`) is kept as it is.
 * No mount info (a 404 from a very old server) means KV v1 / any engine: read the path as written.
 */
export function readTargetFor(userPath: string, mount: MountInfo | undefined): ReadTarget {
  if (!mount) return { apiPath: userPath, kind: 'other' };
  if (mount.kvVersion === undefined) return { apiPath: userPath, kind: 'other' };
  if (mount.kvVersion === 1) return { apiPath: userPath, kind: 'kv1' };
  const prefix = mount.path;
  // Both are facts of the declared path and the mount table: retrying the read cannot change them.
  if (!`${userPath}/`.startsWith(prefix)) {
    throw new SecretPathError(`path "${userPath}" is not under its mount "${prefix}"`);
  }
  const rest = userPath.slice(prefix.length);
  if (rest === '') {
    throw new SecretPathError(
      `path "${userPath}" names the mount itself (KV v2 mount "${prefix}"), not a secret in it (e.g. "${prefix}my-app")`,
    );
  }
  if (rest.startsWith('data/')) return { apiPath: userPath, kind: 'kv2' };
  return { apiPath: `${prefix}data/${rest}`, kind: 'kv2' };
}
