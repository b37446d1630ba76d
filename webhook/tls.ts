/**
 * The serving certificate, re-read when its files change. cert-manager and kubelet rotate a Secret volume
 * by swapping a `..data` symlink in the directory, so the directories are watched (not the files, whose
 * inode watch would go stale), with a poll as the fallback for file systems without events. A pair that
 * does not load (a key written before its certificate, say) keeps the old context until the next change.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { VaultIrsaError } from '../sidecar/contract/errors.js';

export class TlsError extends VaultIrsaError {
  constructor(message: string) {
    super('tls_load_failed', message);
  }
}

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/** Reads and checks a certificate/key pair; the message names the file, never its contents. */
export async function loadTlsPair(certFile: string, keyFile: string): Promise<TlsPair> {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = await readFile(certFile);
  } catch (err) {
    throw new TlsError(`cannot read TLS certificate ${certFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    key = await readFile(keyFile);
  } catch (err) {
    throw new TlsError(`cannot read TLS key ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    // OpenSSL's reason (e.g. "key values mismatch") describes the pair, not its contents
    throw new TlsError(`TLS certificate ${certFile} and key ${keyFile} do not load: ${(err as Error).message}`);
  }
  return { cert, key };
}

export interface TlsReloaderOptions {
  certFile: string;
  keyFile: string;
  initial: TlsPair;
  pollIntervalMs: number;
  apply: (pair: TlsPair) => void;
  onResult?: (result: 'ok' | 'error', message?: string) => void;
}

export class TlsReloader {
  private current: TlsPair;
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private lastError: string | undefined;
  private stopped = false;

  constructor(private readonly opts: TlsReloaderOptions) {
    this.current = opts.initial;
  }

  start(): void {
    for (const dir of new Set([dirname(this.opts.certFile), dirname(this.opts.keyFile)])) {
      try {
        const w = watch(dir, { persistent: false }, () => this.schedule());
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        // no events on this file system: the poll below still notices changes
      }
    }
    this.timer = setInterval(() => void this.check(), this.opts.pollIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.debounce) clearTimeout(this.debounce);
    // both files usually change within milliseconds of each other; read once they have settled
    this.debounce = setTimeout(() => void this.check(), 100);
    this.debounce.unref();
  }

  /** Re-reads the files; applies them when they changed and load. Serialised so two checks never interleave. */
  check(): Promise<void> {
    this.checking ??= this.doCheck().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async doCheck(): Promise<void> {
    if (this.stopped) return;
    let pair: TlsPair;
    try {
      pair = await loadTlsPair(this.opts.certFile, this.opts.keyFile);
    } catch (err) {
      const message = (err as Error).message;
      // report a broken pair once, not on every poll
      if (message !== this.lastError) this.opts.onResult?.('error', message);
      this.lastError = message;
      return;
    }
    this.lastError = undefined;
    if (pair.cert.equals(this.current.cert) && pair.key.equals(this.current.key)) return;
    this.current = pair;
    this.opts.apply(pair);
    this.opts.onResult?.('ok');
  }
}
