import { fullJitter, isRetryableStatus, jittered, parseRetryAfter } from '../../../sidecar/backoff.js';
import { parseMountInfo, readTargetFor } from '../../../sidecar/kv-path.js';
import { classifyFailure, parseRead } from '../../../sidecar/refresher.js';
import { renewalCapped, renewDelayMs } from '../../../sidecar/token-manager.js';
import { VaultError } from '../../../sidecar/vault-client.js';

describe('backoff', () => {
  const policy = { baseMs: 100, capMs: 1000 };
  it('full jitter stays in [0, min(cap, base·2^n))', () => {
    expect(fullJitter(policy, 0, () => 0.999)).toBe(99);
    expect(fullJitter(policy, 3, () => 0.5)).toBe(400);
    expect(fullJitter(policy, 10, () => 0.999)).toBe(999);
    expect(fullJitter(policy, 2, () => 0)).toBe(0);
    expect(fullJitter(policy, 1000, () => 0.5)).toBe(500);
  });
  it('Retry-After as seconds or HTTP date', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter(new Date(0).toUTCString(), 4000)).toBe(0);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });
  it('retries 412, 429, 5xx only', () => {
    for (const s of [412, 429, 500, 502, 503]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404]) expect(isRetryableStatus(s)).toBe(false);
  });
  it('spreads periods by ±fraction', () => {
    expect(jittered(1000, 0.1, () => 0)).toBe(900);
    expect(jittered(1000, 0.1, () => 1)).toBe(1100);
  });
  it('renews at two thirds and detects capped renewals', () => {
    expect(renewDelayMs(3)).toBe(2000);
    expect(renewDelayMs(3600)).toBe(2_400_000);
    expect(renewalCapped(3600, 3600)).toBe(false);
    expect(renewalCapped(3600, 1200)).toBe(true);
  });
});

describe('KV path mapping', () => {
  const v2 = parseMountInfo({ data: { path: 'secret/', type: 'kv', options: { version: '2' } } });
  const v1 = parseMountInfo({ data: { path: 'kv1/', type: 'kv', options: { version: '1' } } });
  const nested = parseMountInfo({ data: { path: 'team/kv/', type: 'kv', options: { version: '2' } } });
  const db = parseMountInfo({ data: { path: 'database/', type: 'database', options: null } });

  it('parses mount info', () => {
    expect(v2).toEqual({ path: 'secret/', type: 'kv', kvVersion: 2 });
    expect(v1?.kvVersion).toBe(1);
    expect(parseMountInfo({ data: { path: 'old/', type: 'kv', options: null } })?.kvVersion).toBe(1);
    expect(parseMountInfo({ data: { path: 'g/', type: 'generic', options: { version: '' } } })?.kvVersion).toBe(1);
    expect(db?.kvVersion).toBeUndefined();
    expect(parseMountInfo({ nope: 1 })).toBeUndefined();
  });

  it.each([
    ['secret/my-app', v2, 'secret/data/my-app', 'kv2'],
    ['secret/a/b/c', v2, 'secret/data/a/b/c', 'kv2'],
    ['secret/data/my-app', v2, 'secret/data/my-app', 'kv2'],
    ['team/kv/app', nested, 'team/kv/data/app', 'kv2'],
    ['kv1/app', v1, 'kv1/app', 'kv1'],
    ['database/creds/app', db, 'database/creds/app', 'other'],
    ['legacy/app', undefined, 'legacy/app', 'other'],
  ])('%s → %s', (path, mount, apiPath, kind) => {
    expect(readTargetFor(path, mount)).toEqual({ apiPath, kind });
  });

  it('refuses the mount itself', () => {
    expect(() => readTargetFor('secret', v2)).toThrow(/mount itself/);
  });
});

describe('reading Vault envelopes', () => {
  it('KV v2: data.data and its version', () => {
    const r = parseRead('kv2', { data: { data: { password: 'p' }, metadata: { version: 7 } }, lease_duration: 0 });
    expect(r).toMatchObject({ data: { password: 'p' }, version: 7, leaseId: undefined });
  });
  it('KV v2 deleted version: not found', () => {
    expect(() => parseRead('kv2', { data: { data: null, metadata: { version: 2 } } })).toThrow(VaultError);
    try {
      parseRead('kv2', { data: { data: null } });
    } catch (e) {
      expect(classifyFailure(e)).toMatchObject({ code: 'secret_not_found', status: 404 });
    }
  });
  it('dynamic: lease fields', () => {
    const r = parseRead('other', {
      lease_id: 'database/creds/app/abc',
      lease_duration: 60,
      renewable: true,
      data: { username: 'u' },
    });
    expect(r).toMatchObject({
      data: { username: 'u' },
      leaseId: 'database/creds/app/abc',
      leaseDuration: 60,
      renewable: true,
    });
  });
  it('classifies failures', () => {
    expect(classifyFailure(new VaultError('read', 403, ['permission denied'], null))).toEqual({
      code: 'vault_permission_denied',
      status: 403,
      message: 'permission denied',
    });
    expect(classifyFailure(new VaultError('read', 404, [], null)).code).toBe('secret_not_found');
    expect(classifyFailure(new VaultError('read', 503, ['Vault is sealed'], null))).toMatchObject({
      code: 'vault_unavailable',
      status: 503,
    });
    expect(classifyFailure(new Error('ECONNREFUSED')).code).toBe('vault_unavailable');
  });
});
