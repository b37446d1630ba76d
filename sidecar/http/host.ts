/**
 * The API listener answers only requests addressed to loopback by name: a page in a browser in the pod
 * that rebinds its own DNS name to 127.0.0.1 still sends its own name as Host and gets 421.
 * Accepted: `127.0.0.1`, `localhost`, `[::1]`, each with or without `:port`, in any case.
 *
 * A request without Host is accepted only as HTTP/1.0 (which has no Host): a browser always sends one, so
 * this opens nothing to rebinding, and minimal HTTP/1.0 clients keep working. HTTP/1.1 requires Host
 * (RFC 9112 §3.2): without it, 400.
 */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

export type HostCheck = 'ok' | 'missing' | 'not_loopback';

export function checkHost(host: string | undefined, httpVersion: string): HostCheck {
  if (host === undefined || host === '') return httpVersion === '1.0' ? 'ok' : 'missing';
  return LOOPBACK_HOST.test(host) ? 'ok' : 'not_loopback';
}
