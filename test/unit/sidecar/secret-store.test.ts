import { SecretStore } from '../../../sidecar/secret-store.js';

const declared = [
  { name: 'db', path: 'database/creds/app' },
  { name: 'cfg', path: 'secret/my-app' },
];

describe('SecretStore', () => {
  it('is not ready until every declared secret was read, and says which are missing', () => {
    const s = new SecretStore(declared);
    expect(s.notReadyReasons()).toHaveLength(2);
    s.fail('cfg', { code: 'vault_permission_denied', status: 403, message: 'permission denied' });
    s.update('db', { data: { u: 'x' }, version: 0, leaseDuration: 60 });
    expect(s.notReadyReasons()).toEqual(['secret "cfg": permission denied']);
    s.update('cfg', { data: { a: '1' }, version: 3, leaseDuration: 0 });
    expect(s.notReadyReasons()).toEqual([]);
  });

  it('changes the ETag only when the data changes, and uses KV versions when given', () => {
    const s = new SecretStore(declared);
    expect(s.update('cfg', { data: { a: '1' }, version: 3, leaseDuration: 0 })).toBe(true);
    const e1 = s.get('cfg')?.etag;
    expect(s.get('cfg')?.version).toBe(3);
    expect(s.update('cfg', { data: { a: '1' }, version: 3, leaseDuration: 0 })).toBe(false);
    expect(s.get('cfg')?.etag).toBe(e1);
    expect(s.update('cfg', { data: { a: '2' }, version: 4, leaseDuration: 0 })).toBe(true);
    expect(s.get('cfg')?.etag).not.toBe(e1);
    s.update('db', { data: { u: '1' }, version: 0, leaseDuration: 60 });
    s.update('db', { data: { u: '2' }, version: 0, leaseDuration: 60 });
    expect(s.get('db')?.version).toBe(2);
  });

  it('ETags differ between processes for the same revision', () => {
    const a = new SecretStore(declared);
    const b = new SecretStore(declared);
    a.update('db', { data: { u: '1' }, version: 0, leaseDuration: 0 });
    b.update('db', { data: { u: '1' }, version: 0, leaseDuration: 0 });
    expect(a.get('db')?.etag).not.toBe(b.get('db')?.etag);
  });

  it('goes stale on the first failure after a read and fresh on the next success', () => {
    const s = new SecretStore(declared, Date.now);
    s.fail('db', { code: 'vault_unavailable', status: 503, message: 'down' });
    expect(s.get('db')?.stale).toBe(false); // never read: nothing to be stale
    s.update('db', { data: { u: '1' }, version: 0, leaseDuration: 0 });
    s.fail('db', { code: 'vault_unavailable', status: 503, message: 'down' });
    expect(s.get('db')).toMatchObject({ stale: true, data: { u: '1' } });
    const since = s.get('db')?.staleSince;
    s.fail('db', { code: 'vault_unavailable', status: 503, message: 'down' });
    expect(s.get('db')?.staleSince).toBe(since); // stale since the first failure, not the latest
    s.update('db', { data: { u: '1' }, version: 0, leaseDuration: 0 });
    expect(s.get('db')).toMatchObject({ stale: false, staleSince: undefined });
  });

  it('wakes long polls on change, times them out, and releases them on close', async () => {
    const s = new SecretStore(declared);
    s.update('db', { data: { u: '1' }, version: 0, leaseDuration: 0 });
    const etag = s.get('db')?.etag as string;
    expect(await s.waitForChange('db', '"other"', 10_000)).toBe(true);
    expect(await s.waitForChange('db', etag, 20)).toBe(false);
    const woken = s.waitForChange('db', etag, 60_000);
    s.update('db', { data: { u: '1' }, version: 0, leaseDuration: 0 }); // same data: no wake
    s.update('db', { data: { u: '2' }, version: 0, leaseDuration: 0 });
    expect(await woken).toBe(true);
    const aborted = new AbortController();
    const gone = s.waitForChange('db', s.get('db')?.etag as string, 60_000, aborted.signal);
    aborted.abort();
    expect(await gone).toBe(false);
    const pending = s.waitForChange('db', s.get('db')?.etag as string, 60_000);
    s.close();
    expect(await pending).toBe(false);
  });

  it('keeps what a Vault client sees: the Vault facts of each read, KV v2 metadata with the data it describes, when a lease was set, since when stale', () => {
    let now = 1_000_000;
    const store = new SecretStore([{ name: 'a', path: 'secret/a' }], () => now);
    const facts = (version: number) => ({
      apiPath: 'secret/data/a',
      kind: 'kv2' as const,
      mount: { path: 'secret/', type: 'kv', kvVersion: 2 as const },
      leaseId: undefined,
      renewable: false,
      metadata: { version },
    });
    store.update('a', { data: { x: 1 }, version: 1, leaseDuration: 0, vault: facts(1) });
    expect(store.get('a')?.vault?.metadata).toEqual({ version: 1 });
    // same data, a later version: the data served is still version 1's, so is its metadata
    store.update('a', { data: { x: 1 }, version: 2, leaseDuration: 0, vault: facts(2) });
    expect(store.get('a')?.version).toBe(1);
    expect(store.get('a')?.vault?.metadata).toEqual({ version: 1 });
    store.update('a', { data: { x: 2 }, version: 3, leaseDuration: 0, vault: facts(3) });
    expect(store.get('a')?.vault?.metadata).toEqual({ version: 3 });
    now += 5000;
    store.setLeaseDuration('a', 30);
    expect(store.get('a')?.leaseSetAt).toBe(now);
    now += 1000;
    store.fail('a', { code: 'vault_unavailable', status: 503, message: 'down' });
    expect(store.get('a')?.staleSince).toBe(new Date(now).toISOString());
    now += 1000;
    store.fail('a', { code: 'vault_unavailable', status: 503, message: 'down' });
    expect(store.get('a')?.staleSince).toBe(new Date(now - 1000).toISOString());
    store.update('a', { data: { x: 2 }, version: 3, leaseDuration: 0, vault: facts(3) });
    expect(store.get('a')?.staleSince).toBeUndefined();
  });
});
