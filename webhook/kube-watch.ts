/**
 * The Kubernetes watch protocol's wire format, as pure functions: a watch answer is a stream of JSON objects,
 * one a line, `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": {...}}`. Only what the ServiceAccount
 * cache keeps is taken from an object (namespace, name, resourceVersion, annotations). A line that is not such an
 * event is a WatchLineError whose message names what was wrong and never quotes the line (it could hold anything).
 */
import { StringDecoder } from 'node:string_decoder';
import { VaultIrsaError } from '../sidecar/contract/errors.js';

export interface ServiceAccountEntry {
  namespace: string;
  name: string;
  resourceVersion: string;
  annotations: Record<string, string>;
}

export type WatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: ServiceAccountEntry }
  | { type: 'BOOKMARK'; resourceVersion: string }
  | { type: 'ERROR'; code: number | undefined; reason: string };

export class WatchLineError extends VaultIrsaError {
  constructor(message: string) {
    super('kube_watch_invalid', message);
  }
}

/** a ServiceAccount with its annotations is a few KiB; the API server caps annotations at 256 KiB */
export const MAX_WATCH_LINE = 1024 * 1024;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const short = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);

/** A ServiceAccount (or a list item) reduced to what the cache keeps; `where` prefixes the error. */
export function serviceAccountEntry(obj: unknown, where: string, requireNamespace = true): ServiceAccountEntry {
  if (!isObject(obj)) throw new WatchLineError(`${where}: the object is not a JSON object`);
  const md = obj.metadata;
  if (!isObject(md)) throw new WatchLineError(`${where}: the object has no metadata`);
  const { name, namespace, resourceVersion, annotations } = md;
  if (typeof name !== 'string' || name === '') throw new WatchLineError(`${where}: metadata.name is not a string`);
  if (typeof namespace !== 'string' || (requireNamespace && namespace === ''))
    throw new WatchLineError(`${where}: metadata.namespace is not a string`);
  if (resourceVersion !== undefined && typeof resourceVersion !== 'string')
    throw new WatchLineError(`${where}: metadata.resourceVersion is not a string`);
  const out: Record<string, string> = {};
  if (annotations !== undefined && annotations !== null) {
    if (!isObject(annotations)) throw new WatchLineError(`${where}: metadata.annotations is not an object`);
    for (const [k, v] of Object.entries(annotations)) {
      if (typeof v !== 'string') throw new WatchLineError(`${where}: annotation ${short(k)} is not a string`);
      out[k] = v;
    }
  }
  return { namespace, name, resourceVersion: resourceVersion ?? '', annotations: out };
}

export function parseWatchLine(line: string): WatchEvent {
  let ev: unknown;
  try {
    ev = JSON.parse(line);
  } catch {
    throw new WatchLineError('watch event is not JSON');
  }
  if (!isObject(ev)) throw new WatchLineError('watch event is not a JSON object');
  const { type, object } = ev;
  switch (type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      return { type, object: serviceAccountEntry(object, `watch ${type} event`) };
    case 'BOOKMARK': {
      const md = isObject(object) ? object.metadata : undefined;
      const rv = isObject(md) ? md.resourceVersion : undefined;
      if (typeof rv !== 'string' || rv === '')
        throw new WatchLineError('watch BOOKMARK event: metadata.resourceVersion is not a string');
      return { type, resourceVersion: rv };
    }
    case 'ERROR': {
      // a metav1.Status; its message may quote objects, so only the code and reason are kept
      const code = isObject(object) && typeof object.code === 'number' ? object.code : undefined;
      const reason = isObject(object) && typeof object.reason === 'string' ? object.reason.slice(0, 64) : '';
      return { type, code, reason };
    }
    default:
      throw new WatchLineError(
        typeof type === 'string' ? `watch event type ${short(type)} is unknown` : 'watch event has no type',
      );
  }
}

/** Splits a byte stream into lines (UTF-8 safe across chunks); a line longer than `max` characters throws. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly max = MAX_WATCH_LINE) {}

  push(chunk: Buffer): string[] {
    const text = this.partial + this.decoder.write(chunk);
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > this.max) {
      this.partial = '';
      throw new WatchLineError(`watch line longer than ${this.max} characters`);
    }
    const lines: string[] = [];
    for (const p of parts) {
      if (p.length > this.max) throw new WatchLineError(`watch line longer than ${this.max} characters`);
      const t = p.trim();
      if (t !== '') lines.push(t);
    }
    return lines;
  }
}
