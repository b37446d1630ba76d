/** RFC 6902 patch from the original pod JSON to the injected one (diff, not hand-written ops: see DESIGN.md). */
import { createPatch, type Operation } from 'rfc6902';

export function podPatch(original: unknown, injected: unknown): Operation[] {
  return createPatch(original, injected);
}

export function encodePatch(ops: Operation[]): string {
  return Buffer.from(JSON.stringify(ops), 'utf8').toString('base64');
}
