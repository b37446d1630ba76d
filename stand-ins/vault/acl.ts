/** Vault ACL policies: the `path "…" { capabilities = [...] }` HCL subset, and path matching with Vault's priority. */
import type { VaultPolicy } from '../types.js';

export type Capability = 'read' | 'list' | 'create' | 'update' | 'delete' | 'deny' | 'sudo' | 'patch';
const CAPS = new Set<string>(['read', 'list', 'create', 'update', 'delete', 'deny', 'sudo', 'patch']);

export class PolicyParseError extends Error {
  readonly code = 'POLICY_PARSE';
}

/** Parses the policy HCL subset Vault users write; anything else is a clear error, not a silent pass. */
export function parsePolicyHcl(hcl: string): VaultPolicy {
  const src = hcl.replace(/#[^\n]*/g, '').replace(/\/\/[^\n]*/g, '');
  const out: VaultPolicy = {};
  const re = /path\s+"([^"]*)"\s*\{([^}]*)\}/g;
  let consumed = '';
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) {
    consumed += m[0];
    const body = m[2]!;
    const cm = /capabilities\s*=\s*\[([^\]]*)\]/.exec(body);
    if (!cm) {
      if (/policy\s*=\s*"(\w+)"/.test(body)) {
        const legacy = /policy\s*=\s*"(\w+)"/.exec(body)![1]!;
        const map: Record<string, Capability[]> = {
          read: ['read', 'list'],
          write: ['create', 'read', 'update', 'delete', 'list'],
          deny: ['deny'],
          sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
        };
        if (!map[legacy])
          throw new PolicyParseError(`failed to parse policy: path "${m[1]}": invalid policy "${legacy}"`);
        out[m[1]!] = map[legacy] as VaultPolicy[string];
        continue;
      }
      throw new PolicyParseError(`failed to parse policy: path "${m[1]}": missing capabilities`);
    }
    const caps = cm[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => s.replace(/^"|"$/g, ''));
    for (const c of caps)
      if (!CAPS.has(c)) throw new PolicyParseError(`failed to parse policy: path "${m[1]}": invalid capability "${c}"`);
    out[m[1]!] = [...new Set([...(out[m[1]!] ?? []), ...caps])] as VaultPolicy[string];
  }
  const leftover = src.replace(re, '').trim();
  if (leftover) throw new PolicyParseError(`failed to parse policy: unexpected content: ${leftover.slice(0, 60)}`);
  if (!consumed && src.trim()) throw new PolicyParseError('failed to parse policy: no path stanzas');
  return out;
}

function globMatch(pattern: string, path: string): boolean {
  const prefix = pattern.endsWith('*');
  const pat = prefix ? pattern.slice(0, -1) : pattern;
  const pSegs = pat.split('/');
  const segs = path.split('/');
  if (!prefix && pSegs.length !== segs.length) return false;
  if (prefix && segs.length < pSegs.length) return false;
  for (let i = 0; i < pSegs.length; i++) {
    const p = pSegs[i]!;
    const s = segs[i]!;
    const last = i === pSegs.length - 1;
    if (p === '+') continue;
    if (last && prefix) return s.startsWith(p);
    if (p !== s) return false;
  }
  return true;
}

/** Vault's priority among matching globs: the longest literal prefix before the first wildcard wins, then fewer '+', then longer. */
function priority(pattern: string): [number, number, number] {
  const firstWild = [pattern.indexOf('+'), pattern.endsWith('*') ? pattern.length - 1 : -1].filter((i) => i >= 0);
  const pos = firstWild.length ? Math.min(...firstWild) : pattern.length + 1;
  const plus = (pattern.match(/\+/g) ?? []).length;
  return [pos, -plus, pattern.length];
}

export function capabilitiesFor(policies: VaultPolicy[], path: string): Set<string> {
  const merged = new Map<string, Set<string>>();
  for (const pol of policies) {
    for (const [pat, caps] of Object.entries(pol)) {
      const s = merged.get(pat) ?? new Set<string>();
      for (const c of caps) s.add(c);
      merged.set(pat, s);
    }
  }
  const exact = merged.get(path);
  let chosen: Set<string> | undefined = exact && !path.endsWith('*') ? exact : undefined;
  if (!chosen) {
    let best: [number, number, number] | undefined;
    for (const [pat, caps] of merged) {
      if (!(pat.includes('+') || pat.endsWith('*'))) continue;
      if (!globMatch(pat, path)) continue;
      const pr = priority(pat);
      if (
        !best ||
        pr[0] > best[0] ||
        (pr[0] === best[0] && (pr[1] > best[1] || (pr[1] === best[1] && pr[2] > best[2])))
      ) {
        best = pr;
        chosen = caps;
      }
    }
  }
  if (!chosen || chosen.has('deny')) return new Set();
  return chosen;
}

/** Does any rule grant anything at or below `prefix` (Vault's hasMountAccess for sys/internal/ui/mounts)? */
export function anyAccessUnder(policies: VaultPolicy[], prefix: string): boolean {
  for (const pol of policies) {
    for (const [pat, caps] of Object.entries(pol)) {
      if (caps.length === 0 || caps.includes('deny')) continue;
      const wild = pat.search(/[*+]/);
      const lit = wild < 0 ? pat : pat.slice(0, wild);
      // a rule inside the mount, or a glob whose literal part covers the whole mount
      if (lit.startsWith(prefix) || (wild >= 0 && prefix.startsWith(lit))) return true;
    }
  }
  return false;
}

/** The policy Vault attaches to every token unless told not to (the parts vault-irsa touches). */
export const DEFAULT_POLICY: VaultPolicy = {
  'auth/token/lookup-self': ['read'],
  'auth/token/renew-self': ['update'],
  'auth/token/revoke-self': ['update'],
  'sys/capabilities-self': ['update'],
  'sys/leases/renew': ['update'],
  'sys/leases/lookup': ['update'],
  'sys/renew': ['update'],
  'sys/tools/hash': ['update'],
  'sys/wrapping/lookup': ['update'],
  'sys/wrapping/unwrap': ['update'],
  'sys/wrapping/wrap': ['update'],
  'cubbyhole/*': ['create', 'read', 'update', 'delete', 'list'],
};
