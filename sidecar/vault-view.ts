import type { SecretEntry } from './secret-store.js';

/**
 * A read-only, Vault-shaped view of the declared secrets, for apps that already read Vault through a client
 * (hvac, node-vault, Go's `api`, Spring Cloud Vault, the `vault` CLI). Pure: the request and what the store
 * holds in, the answer out; no I/O and no clock of its own. Nothing here ever reaches Vault: every answer is
 * made from memory, so a read never creates a lease or a token.
 *
 * What it answers, under /v1/ (the caller has already presented the request token):
 *   GET <mount>/data/<path>[?version=N]   a declared KV v2 secret (only the version held; another: 404)
 *   GET <mount>/<path>                    a declared KV v1 secret
 *   GET <its path>                        a declared dynamic secret, with the lease the sidecar holds
 *   GET sys/internal/ui/mounts/<path>     the mount of a declared secret (the CLI learns the KV version here)
 *   GET auth/token/lookup-self            the request token: no policies, no accessor, no expiry
 *   PUT/POST auth/token/renew-self        succeeds, without expiry
 *   GET sys/health                        200: initialized, unsealed, active
 * Everything else: 403 `permission denied` (as Vault answers a path outside the policy: nothing says what
 * exists), or 405 for a method no route here takes. Errors are Vault's `{"errors": [...]}`.
 */
export interface VaultViewRequest {
  method: string;
  /** the decoded segments after `v1` */
  segments: readonly string[];
  query: ReadonlyMap<string, string>;
  /** X-Vault-Wrap-TTL, when sent */
  wrapTtl: string | undefined;
}

export interface VaultViewContext {
  entries: readonly SecretEntry[];
  /** ms since the epoch */
  now: number;
  requestId: string;
  /** the token the caller presented (and that was checked): Vault echoes it in lookup-self and renew-self */
  token: string;
  /** when the sidecar started (ms since the epoch): the token's issue time */
  startedAt: number;
  version: string;
}

export interface VaultAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
  /** the request was a read of a secret path (counted in the reads metric like /v1/secrets reads) */
  secretRead?: true;
}

const READ_METHODS = ['GET', 'HEAD'];
const RENEW_METHODS = ['PUT', 'POST'];

export const PERMISSION_DENIED = 'permission denied';

type Route = 'health' | 'lookup-self' | 'renew-self' | 'mounts' | 'read';

function routeOf(s: readonly string[]): Route {
  const p = s.join('/');
  if (p === 'sys/health') return 'health';
  if (p === 'auth/token/lookup-self') return 'lookup-self';
  if (p === 'auth/token/renew-self') return 'renew-self';
  if (s.length > 4 && s[0] === 'sys' && s[1] === 'internal' && s[2] === 'ui' && s[3] === 'mounts') return 'mounts';
  return 'read';
}

export function vaultErrors(status: number, errors: string[], headers?: Record<string, string>): VaultAnswer {
  return { status, body: JSON.stringify({ errors }), ...(headers ? { headers } : {}) };
}

export function vaultView(req: VaultViewRequest, ctx: VaultViewContext): VaultAnswer {
  const route = routeOf(req.segments);
  // deny by default, per route: reads take GET and HEAD, renew-self PUT and POST, nothing takes anything else
  const allowed = route === 'renew-self' ? RENEW_METHODS : READ_METHODS;
  if (!allowed.includes(req.method)) {
    return vaultErrors(
      405,
      [
        `unsupported operation: ${req.method.slice(0, 32)} (the vault-irsa sidecar serves reads of the pod's declared secrets only)`,
      ],
      { allow: allowed.join(', ') },
    );
  }
  if (req.wrapTtl !== undefined) {
    return vaultErrors(400, ['response wrapping (X-Vault-Wrap-TTL) is not supported by the vault-irsa sidecar']);
  }
  switch (route) {
    case 'health':
      return ok(health(ctx));
    case 'lookup-self':
      return ok(envelope(ctx, { data: lookupSelf(ctx), mount_type: 'token' }));
    case 'renew-self':
      return ok(envelope(ctx, { auth: renewAuth(ctx), mount_type: 'token' }));
    case 'mounts':
      return mountInfo(req.segments.slice(4), ctx);
    case 'read':
      return { ...read(req, ctx), secretRead: true };
  }
}

function ok(body: string): VaultAnswer {
  return { status: 200, body };
}

/** Vault's response envelope, every field present as Vault sends it. */
function envelope(ctx: VaultViewContext, fields: Record<string, unknown>): string {
  return JSON.stringify({
    request_id: ctx.requestId,
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: null,
    ...fields,
  });
}

function health(ctx: VaultViewContext): string {
  return JSON.stringify({
    initialized: true,
    sealed: false,
    standby: false,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(ctx.now / 1000),
    version: `${ctx.version}+vault-irsa`,
    cluster_name: 'vault-irsa-sidecar',
    cluster_id: '',
  });
}

/** The request token as Vault would describe a token that never expires and carries no Vault policy. */
function lookupSelf(ctx: VaultViewContext): Record<string, unknown> {
  return {
    accessor: '',
    creation_time: Math.floor(ctx.startedAt / 1000),
    creation_ttl: 0,
    display_name: 'vault-irsa-sidecar',
    entity_id: '',
    expire_time: null,
    explicit_max_ttl: 0,
    id: ctx.token,
    issue_time: new Date(ctx.startedAt).toISOString(),
    meta: {},
    num_uses: 0,
    orphan: true,
    path: '',
    policies: [],
    renewable: false,
    ttl: 0,
    type: 'service',
  };
}

/** A renewal that always succeeds and never sets an expiry: clients that renew on a schedule keep working. */
function renewAuth(ctx: VaultViewContext): Record<string, unknown> {
  return {
    client_token: ctx.token,
    accessor: '',
    policies: [],
    token_policies: [],
    metadata: {},
    lease_duration: 0,
    renewable: false,
    entity_id: '',
    token_type: 'service',
    orphan: true,
    mfa_requirement: null,
    num_uses: 0,
  };
}

/**
 * The API paths a declared path may be read at before the refresher has learnt its mount: the path as
 * written (KV v1, dynamic, or KV v2 written the `vault read` way) and, for KV v2, `data/` after each
 * possible mount prefix. Pure.
 */
export function candidateApiPaths(userPath: string): string[] {
  const segs = userPath.split('/').filter((s) => s !== '');
  const out = [segs.join('/')];
  for (let i = 1; i < segs.length; i++) out.push([...segs.slice(0, i), 'data', ...segs.slice(i)].join('/'));
  return out;
}

/** The declared secret a Vault API path names, if any. */
function entryForApiPath(entries: readonly SecretEntry[], apiPath: string): SecretEntry | undefined {
  for (const e of entries) if (e.vault?.apiPath === apiPath) return e;
  // not read yet: the path it will be read at is not known, but it is one of these
  for (const e of entries) if (e.vault === undefined && candidateApiPaths(e.path).includes(apiPath)) return e;
  return undefined;
}

function read(req: VaultViewRequest, ctx: VaultViewContext): VaultAnswer {
  const list = req.query.get('list');
  // no list capability anywhere (a list would name what exists)
  if (list !== undefined && list !== '' && list !== 'false' && list !== '0')
    return vaultErrors(403, [PERMISSION_DENIED]);
  const e = entryForApiPath(ctx.entries, req.segments.join('/'));
  if (e === undefined) return vaultErrors(403, [PERMISSION_DENIED]);
  const refused = refusal(e);
  if (refused !== undefined) return refused;
  const facts = e.vault as NonNullable<SecretEntry['vault']>;
  if (facts.kind === 'kv2') {
    const v = req.query.get('version');
    if (v !== undefined && v !== '' && v !== '0') {
      if (!/^\d{1,15}$/.test(v)) return vaultErrors(400, [`version: "${v.slice(0, 32)}" is not a version number`]);
      // only the version held is served; Vault answers a version it does not have with 404 and no errors
      if (Number(v) !== e.version) return vaultErrors(404, []);
    }
  }
  return ok(renderSecret(e, facts, ctx));
}

/** Why a declared secret cannot be served, in Vault's shape; undefined when it can. */
function refusal(e: SecretEntry): VaultAnswer | undefined {
  const f = e.failure;
  if (f !== undefined && f.code !== 'vault_unavailable') {
    if (f.code === 'secret_not_found') return vaultErrors(404, []);
    if (f.code === 'vault_permission_denied')
      return vaultErrors(403, [
        PERMISSION_DENIED,
        `vault-irsa: Vault refused the sidecar's read of secret "${e.name}": ${f.message}`,
      ]);
    return vaultErrors(f.status, [`vault-irsa: secret "${e.name}": ${f.message}`]);
  }
  if (e.data === undefined || e.etag === undefined || e.vault === undefined) {
    return vaultErrors(
      503,
      [`vault-irsa: secret "${e.name}" has not been read from Vault yet${f ? `: ${f.message}` : ''}`],
      { 'retry-after': '1' },
    );
  }
  return undefined;
}

function renderSecret(e: SecretEntry, facts: NonNullable<SecretEntry['vault']>, ctx: VaultViewContext): string {
  const warnings = e.stale
    ? [
        `vault-irsa: Vault could not be reached since ${e.staleSince ?? 'the last refresh'}; this is the last value read (stale)`,
      ]
    : null;
  const mountType = facts.mount?.type ?? (facts.kind === 'other' ? '' : 'kv');
  if (facts.kind === 'kv2') {
    const m = facts.metadata ?? {};
    const metadata = {
      created_time: typeof m.created_time === 'string' ? m.created_time : (e.updatedAt ?? ''),
      custom_metadata: m.custom_metadata ?? null,
      deletion_time: typeof m.deletion_time === 'string' ? m.deletion_time : '',
      destroyed: m.destroyed === true,
      version: e.version,
    };
    return envelope(ctx, { data: { data: e.data, metadata }, warnings, mount_type: mountType });
  }
  if (facts.leaseId !== undefined) {
    // the lease the sidecar holds, with what is left of it: a read never takes a lease of its own
    const left = Math.max(0, e.leaseDuration - Math.floor(Math.max(0, ctx.now - e.leaseSetAt) / 1000));
    return envelope(ctx, {
      lease_id: facts.leaseId,
      renewable: facts.renewable,
      lease_duration: left,
      data: e.data,
      warnings,
      mount_type: mountType,
    });
  }
  return envelope(ctx, { lease_duration: e.leaseDuration, data: e.data, warnings, mount_type: mountType });
}

/** sys/internal/ui/mounts/<path>: the mount of a declared secret; the CLI reads the KV version from it. */
function mountInfo(segments: readonly string[], ctx: VaultViewContext): VaultAnswer {
  const path = segments.join('/');
  for (const e of ctx.entries) {
    const m = e.vault?.mount;
    if (m !== undefined && `${path}/`.startsWith(m.path)) {
      return ok(
        envelope(ctx, {
          data: {
            path: m.path,
            type: m.type,
            options: m.kvVersion !== undefined ? { version: String(m.kvVersion) } : null,
            description: '',
            local: false,
            seal_wrap: false,
            external_entropy_access: false,
            config: {},
          },
          mount_type: 'system',
        }),
      );
    }
  }
  const first = segments[0];
  for (const e of ctx.entries) {
    const top = e.path.split('/').find((s) => s !== '');
    if (top !== first) continue;
    // read, but Vault did not say which mount (a very old server): answer as that server did
    if (e.vault !== undefined && e.vault.mount === undefined) return vaultErrors(404, []);
    if (e.vault === undefined) return refusal(e) ?? vaultErrors(403, [PERMISSION_DENIED]);
  }
  return vaultErrors(403, [PERMISSION_DENIED]);
}
