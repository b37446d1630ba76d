/** TLS mode auto, the pure decisions: Secret encoding, the bundle, and each step of a rotation. */
import { X509Certificate } from 'node:crypto';
import {
  bundleHas,
  bundleOf,
  encodeState,
  parseState,
  step,
  type AutoTlsState,
} from '../../../webhook/tls-auto-state.js';
import { generationMaker } from '../../../webhook/tls-auto.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DNS = ['svc', 'svc.ns', 'svc.ns.svc', 'svc.ns.svc.cluster.local'];
const POLICY = { validityMs: 10 * DAY, renewBeforeMs: 3 * DAY, overlapMs: HOUR, dnsNames: DNS };
const make = generationMaker(DNS, POLICY.validityMs);
const t0 = new Date('2030-01-01T00:00:00Z');
const later = (ms: number): Date => new Date(t0.getTime() + ms);

test('an empty Secret gets a first generation; encode → parse is the identity', () => {
  const { state, changed } = step(parseState(undefined), t0, POLICY, undefined, make);
  expect(changed).toEqual(['created']);
  expect(parseState(encodeState(state))).toEqual(state);
  expect(Object.keys(encodeState(state)).some((k) => k.includes('ca.key'))).toBe(false);
});

test('a Secret with a mismatched pair is invalid (and replaced), partial keys too', () => {
  const a = make(t0);
  const b = make(t0);
  const mixed = parseState(encodeState({ active: { ...a, key: b.key } }));
  expect(mixed).toEqual({ invalid: expect.stringContaining('key does not match') });
  const wrongCa = parseState(encodeState({ active: { ...a, ca: b.ca } }));
  expect(wrongCa).toEqual({ invalid: expect.stringContaining('not signed by the CA') });
  expect(parseState({ 'tls.crt': 'eA==' })).toEqual({ invalid: expect.stringContaining('only some of') });
  expect(step(mixed, t0, POLICY, undefined, make).changed).toEqual(['replaced-invalid']);
});

test('the bundle holds active, next and previous CAs; bundleHas matches by certificate, not text', () => {
  const s: AutoTlsState = {
    active: make(t0),
    next: { ...make(t0), since: t0 },
    previous: { ca: make(t0).ca, until: t0 },
  };
  const bundle = bundleOf(s);
  for (const ca of [s.active.ca, s.next?.ca, s.previous?.ca]) expect(bundleHas(bundle, ca as string)).toBe(true);
  expect(bundleHas(bundle, make(t0).ca)).toBe(false);
  expect(bundleHas(bundle.replace(/\n/g, '\r\n'), s.active.ca)).toBe(true);
  expect(bundleHas(undefined, s.active.ca)).toBe(false);
});

describe('rotation steps', () => {
  const start = step(undefined, t0, POLICY, undefined, make).state;

  test('nothing to do before renewBefore', () => {
    expect(step(start, later(6 * DAY), POLICY, bundleOf(start), make)).toEqual({ state: start, changed: [] });
  });

  test('renewal starts inside renewBefore, keeping the active pair', () => {
    const { state, changed } = step(start, later(7 * DAY + 1), POLICY, bundleOf(start), make);
    expect(changed).toEqual(['renewal-started']);
    expect(state.active).toEqual(start.active);
    expect(state.next?.since).toEqual(later(7 * DAY + 1));
  });

  test('a certificate missing one of the Service names is renewed (a renamed Service)', () => {
    const renamed = { ...POLICY, dnsNames: [...DNS, 'other.ns.svc'] };
    expect(step(start, later(DAY), renamed, bundleOf(start), make).changed).toEqual(['renewal-started']);
  });

  test('promotion waits for the overlap AND for the published bundle to hold the next CA', () => {
    const renewing = step(start, later(7 * DAY), POLICY, bundleOf(start), make).state;
    const withNext = bundleOf(renewing);
    expect(step(renewing, later(7 * DAY + HOUR / 2), POLICY, withNext, make).changed).toEqual([]);
    // the overlap is over but the configuration still carries only the old CA (its update failed, or drifted)
    expect(step(renewing, later(7 * DAY + 2 * HOUR), POLICY, bundleOf(start), make).changed).toEqual([]);
    const { state, changed } = step(renewing, later(7 * DAY + 2 * HOUR), POLICY, withNext, make);
    expect(changed).toEqual(['promoted']);
    expect(state.active.cert).toBe(renewing.next?.cert);
    expect(state.previous).toEqual({ ca: start.active.ca, until: later(7 * DAY + 3 * HOUR) });
    expect(state.next).toBeUndefined();
    // served from now on, and trusted by both the old published bundle and the new one
    expect(bundleHas(bundleOf(state), start.active.ca)).toBe(true);
    expect(new X509Certificate(state.active.cert).checkIssued(new X509Certificate(state.active.ca))).toBe(true);

    expect(step(state, later(7 * DAY + 3 * HOUR - 1), POLICY, bundleOf(state), make).changed).toEqual([]);
    const dropped = step(state, later(7 * DAY + 3 * HOUR), POLICY, bundleOf(state), make);
    expect(dropped.changed).toEqual(['previous-dropped']);
    expect(dropped.state.previous).toBeUndefined();
  });

  test('an expired active certificate is replaced at once, the old CA kept as previous', () => {
    const { state, changed } = step(start, later(10 * DAY + 1), POLICY, bundleOf(start), make);
    expect(changed).toEqual(['expired-replaced']);
    expect(state.previous?.ca).toBe(start.active.ca);
  });
});
