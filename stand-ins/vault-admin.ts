/**
 * Configures a real Vault over its HTTP API with the root token, as `vault write …` would, so no `vault`
 * CLI is needed beyond the server itself. Errors carry the path and Vault's messages, never the token.
 */
export interface VaultAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
}

export interface AwsLoginToken {
  accessor: string;
  path: string;
  policies: string[];
  meta: Record<string, string>;
  ttl: number;
}

export class VaultAdmin {
  constructor(
    readonly addr: string,
    private readonly rootToken: string,
  ) {}

  async request(method: string, path: string, body?: unknown): Promise<VaultAnswer> {
    const res = await fetch(`${this.addr}/v1/${path}`, {
      method,
      headers: {
        'x-vault-token': this.rootToken,
        'x-vault-request': 'true',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      parsed = { raw: text.slice(0, 300) };
    }
    return { status: res.status, body: parsed };
  }

  /** POST and insist on 2xx: configuration that did not apply must stop the test with Vault's reason. */
  async write(path: string, body: unknown = {}): Promise<Record<string, unknown> | undefined> {
    const r = await this.request('POST', path, body);
    if (r.status >= 300)
      throw new Error(`vault write ${path}: HTTP ${r.status} ${JSON.stringify(r.body?.errors ?? r.body)}`);
    return r.body;
  }

  async read(path: string): Promise<Record<string, unknown> | undefined> {
    const r = await this.request('GET', path);
    if (r.status >= 300)
      throw new Error(`vault read ${path}: HTTP ${r.status} ${JSON.stringify(r.body?.errors ?? r.body)}`);
    return r.body;
  }

  async writePolicy(name: string, hcl: string): Promise<void> {
    await this.write(`sys/policies/acl/${name}`, { policy: hcl });
  }

  async enableKv(mount: string, version: 1 | 2): Promise<void> {
    await this.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: String(version) } });
  }

  /** KV v2 write at <mount>/data/<path>; returns the new version. */
  async putKv2(mount: string, path: string, data: Record<string, unknown>): Promise<number> {
    const body = await this.write(`${mount}/data/${path}`, { data });
    return Number((body?.data as { version?: unknown } | undefined)?.version ?? 0);
  }

  /** Tokens minted by an AWS auth login, looked up by accessor (the root token may list them all). */
  async awsLoginTokens(mount = 'aws'): Promise<AwsLoginToken[]> {
    const list = await this.request('GET', 'auth/token/accessors?list=true');
    const keys = ((list.body?.data as { keys?: unknown } | undefined)?.keys as string[] | undefined) ?? [];
    const out: AwsLoginToken[] = [];
    for (const accessor of keys) {
      const r = await this.request('POST', 'auth/token/lookup-accessor', { accessor });
      const d = r.body?.data as
        { path?: string; policies?: string[]; meta?: Record<string, string> | null; ttl?: number } | undefined;
      if (r.status !== 200 || !d?.path?.startsWith(`auth/${mount}/login`)) continue;
      out.push({ accessor, path: d.path, policies: d.policies ?? [], meta: d.meta ?? {}, ttl: d.ttl ?? 0 });
    }
    return out;
  }

  async revokeAccessor(accessor: string): Promise<void> {
    await this.write('auth/token/revoke-accessor', { accessor });
  }
}

/** Resolves once GET /v1/sys/health answers 200 (initialised, unsealed, active). */
export async function waitVaultHealthy(
  addr: string,
  timeoutMs: number,
  stillRunning: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!stillRunning()) throw new Error(`Vault exited before it was healthy (${last})`);
    try {
      const res = await fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `sys/health HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Vault at ${addr} not healthy after ${timeoutMs} ms (${last})`);
}
