import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from './fs-async.js';
import { basename, dirname, join } from 'node:path';

/** 32 random bytes, base64url: what an app sends as `Authorization: Bearer …`. */
export function generateRequestToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Writes the token so a reader never sees a partial file: a temp file in the same directory, then
 * rename over the target. Mode 0644 because the app containers run as other users; the volume is a
 * memory-backed emptyDir shared only inside the pod.
 */
export async function writeTokenFileAtomic(path: string, token: string): Promise<void> {
  const dir = dirname(path);
  // Only the last level: in a pod the emptyDir exists; recursive mkdir can spin on special filesystems.
  await mkdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, token, { mode: 0o644, flag: 'wx' });
    await chmod(tmp, 0o644); // the umask may have narrowed the mode
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}
