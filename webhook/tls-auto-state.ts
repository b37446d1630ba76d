/**
 * TLS mode `auto`, the decisions (pure apart from key generation, which the caller passes in): what the Secret
 * should hold next, and which CA bundle the MutatingWebhookConfiguration must carry for it.
 *
 * Each generation is a fresh CA and a serving certificate it signed; no CA key is ever stored (it is not
 * needed after signing). Renewal in three steps, so no replica ever serves a certificate the bundle lacks:
 *  1. renewal due: a `next` generation is added beside `active`; the bundle becomes active CA + next CA;
 *  2. once the published bundle holds the next CA and `overlap` has passed since step 1: `next` becomes
 *     `active`, and the old CA stays in the bundle as `previous` for another `overlap` (replicas that have not
 *     re-read the Secret yet still serve the old certificate);
 *  3. after that, `previous` is dropped.
 * Replicas re-read the Secret far more often than `overlap`, so both windows cover every replica's switch.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';

export interface Generation {
  /** PEM of the CA that signed `cert` */
  ca: string;
  cert: string;
  key: string;
}

export interface AutoTlsState {
  active: Generation;
  next?: Generation & { since: Date };
  previous?: { ca: string; until: Date };
}

export interface AutoTlsPolicy {
  /** lifetime of each CA and serving certificate */
  validityMs: number;
  /** renewal starts this long before the serving certificate expires */
  renewBeforeMs: number;
  /** how long a new CA is published before use, and an old one kept after */
  overlapMs: number;
  dnsNames: string[];
}

export type MakeGeneration = (now: Date) => Generation;

const KEYS = {
  ca: 'ca.crt',
  cert: 'tls.crt',
  key: 'tls.key',
  nextCa: 'next.ca.crt',
  nextCert: 'next.tls.crt',
  nextKey: 'next.tls.key',
  nextSince: 'next.since',
  previousCa: 'previous.ca.crt',
  previousUntil: 'previous.until',
} as const;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

/** A generation that is usable: the pair loads, the CA signed the certificate. Otherwise the reason. */
function checkGeneration(g: Generation): string | undefined {
  try {
    const ca = new X509Certificate(g.ca);
    const cert = new X509Certificate(g.cert);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'the certificate is not signed by the CA';
    if (!cert.checkPrivateKey(createPrivateKey(g.key))) return 'the key does not match the certificate';
    return undefined;
  } catch (err) {
    return `does not parse (${(err as Error).message.split('\n')[0] ?? 'error'})`;
  }
}

function date(s: string | undefined): Date | undefined {
  if (s === undefined) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Secret data (base64 values) → state. `undefined` for an empty Secret; `{ invalid }` for one whose active
 * generation is unusable (it is then replaced). A broken next or previous is dropped, not fatal.
 */
export function parseState(data: Record<string, string> | undefined): AutoTlsState | undefined | { invalid: string } {
  const d = data ?? {};
  const get = (k: string): string | undefined => unb64(d[k]);
  const ca = get(KEYS.ca);
  const cert = get(KEYS.cert);
  const key = get(KEYS.key);
  if (ca === undefined && cert === undefined && key === undefined) return undefined;
  if (ca === undefined || cert === undefined || key === undefined)
    return { invalid: `holds only some of ${KEYS.ca}, ${KEYS.cert}, ${KEYS.key}` };
  const active = { ca, cert, key };
  const problem = checkGeneration(active);
  if (problem !== undefined) return { invalid: `${KEYS.cert}: ${problem}` };
  const state: AutoTlsState = { active };
  const next = { ca: get(KEYS.nextCa) ?? '', cert: get(KEYS.nextCert) ?? '', key: get(KEYS.nextKey) ?? '' };
  const since = date(get(KEYS.nextSince));
  if (since !== undefined && checkGeneration(next) === undefined) state.next = { ...next, since };
  const previousCa = get(KEYS.previousCa);
  const until = date(get(KEYS.previousUntil));
  if (previousCa !== undefined && until !== undefined) {
    try {
      new X509Certificate(previousCa);
      state.previous = { ca: previousCa, until };
    } catch {
      // an unreadable old CA trusts nothing anyone serves: forget it
    }
  }
  return state;
}

export function encodeState(s: AutoTlsState): Record<string, string> {
  const out: Record<string, string> = {
    [KEYS.ca]: b64(s.active.ca),
    [KEYS.cert]: b64(s.active.cert),
    [KEYS.key]: b64(s.active.key),
  };
  if (s.next) {
    Object.assign(out, {
      [KEYS.nextCa]: b64(s.next.ca),
      [KEYS.nextCert]: b64(s.next.cert),
      [KEYS.nextKey]: b64(s.next.key),
      [KEYS.nextSince]: b64(s.next.since.toISOString()),
    });
  }
  if (s.previous)
    Object.assign(out, {
      [KEYS.previousCa]: b64(s.previous.ca),
      [KEYS.previousUntil]: b64(s.previous.until.toISOString()),
    });
  return out;
}

/** The PEM bundle the webhook configuration must carry: every CA whose certificate some replica may serve. */
export function bundleOf(s: AutoTlsState): string {
  return (
    [s.active.ca, s.next?.ca, s.previous?.ca]
      .filter((x): x is string => x !== undefined)
      .map((p) => p.trimEnd())
      .join('\n') + '\n'
  );
}

/** Whether a published bundle (PEM) contains the given CA certificate. */
export function bundleHas(bundle: string | undefined, caPem: string): boolean {
  if (bundle === undefined) return false;
  const want = new X509Certificate(caPem).fingerprint256;
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.some((b) => {
    try {
      return new X509Certificate(b).fingerprint256 === want;
    } catch {
      return false;
    }
  });
}

function coversNames(certPem: string, dnsNames: string[]): boolean {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  const have = new Set(
    san
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4)),
  );
  return dnsNames.every((n) => have.has(n));
}

export type StepReason =
  'created' | 'replaced-invalid' | 'renewal-started' | 'promoted' | 'previous-dropped' | 'expired-replaced';

/**
 * One decision. `published` is the bundle the webhook configuration carries now (read before the Secret).
 * Returns the state to keep and, when it differs from the input, why.
 */
export function step(
  current: AutoTlsState | undefined | { invalid: string },
  now: Date,
  policy: AutoTlsPolicy,
  published: string | undefined,
  make: MakeGeneration,
): { state: AutoTlsState; changed: StepReason[] } {
  if (current === undefined) return { state: { active: make(now) }, changed: ['created'] };
  if ('invalid' in current) return { state: { active: make(now) }, changed: ['replaced-invalid'] };
  let state: AutoTlsState = { ...current };
  const changed: StepReason[] = [];
  const t = now.getTime();
  const expiry = (pem: string): number => new Date(new X509Certificate(pem).validTo).getTime();

  if (t >= expiry(state.active.cert)) {
    // nothing trusts an expired certificate; waiting for an overlap would only prolong the outage
    return {
      state: { active: make(now), previous: { ca: state.active.ca, until: new Date(t + policy.overlapMs) } },
      changed: ['expired-replaced'],
    };
  }
  if (state.previous && t >= state.previous.until.getTime()) {
    const { previous: _dropped, ...rest } = state;
    state = rest;
    changed.push('previous-dropped');
  }
  if (state.next) {
    if (t >= state.next.since.getTime() + policy.overlapMs && bundleHas(published, state.next.ca)) {
      const { since: _since, ...next } = state.next;
      state = { active: next, previous: { ca: state.active.ca, until: new Date(t + policy.overlapMs) } };
      changed.push('promoted');
    }
  } else if (
    t >= expiry(state.active.cert) - policy.renewBeforeMs ||
    !coversNames(state.active.cert, policy.dnsNames)
  ) {
    state = { ...state, next: { ...make(now), since: now } };
    changed.push('renewal-started');
  }
  return { state, changed };
}
