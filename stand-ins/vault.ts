/**
 * HashiCorp Vault stand-in: AWS auth (iam) login validated exactly as docs/vault-and-aws.md describes, tokens, ACL policies,
 * KV v1/v2, a dynamic-secret engine with leases, and the configuration API real Vault offers (so the same client
 * code configures a real `vault server -dev`). Faults: stop/start, seal, expiry, injected statuses.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FakeSts, FakeVault, VaultPolicy, VaultRequestRecord, VaultRoleConfig } from './types.js';
import type { FakeStsExt } from './sts.js';
import { closeServer, listen, readBody } from './server-util.js';
import { DEFAULT_POLICY, PolicyParseError, anyAccessUnder, capabilitiesFor, parsePolicyHcl } from './vault/acl.js';
import {
  canonicalArn,
  forwardTarget,
  globbedMatch,
  parseIamArn,
  parseLoginRequest,
  submitCallerIdentityRequest,
  validateAllowedHeaders,
  validateServerIdHeader,
  type IamEntity,
} from './vault/login.js';

const SYSTEM_MAX_TTL = 2764800; // 32 days: Vault's default and max lease TTL
const PERMISSION_DENIED = '1 error occurred:\n\t* permission denied\n\n';
const INVALID_TOKEN = '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n';
const KV2_BAD_PATH =
  "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.";

export class VaultInputError extends Error {
  readonly code = 'VAULT_BAD_INPUT';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface Token {
  id: string;
  accessor: string;
  policies: string[];
  root: boolean;
  issuedAt: number;
  expiresAt: number; // ms; Infinity for root
  maxExpiresAt: number;
  ttlSeconds: number; // creation/default TTL
  renewable: boolean;
  revoked: boolean;
  namespace: string;
  path: string;
  meta: Record<string, string> | null;
  entityId: string;
  aws?: { mount: string; role: string; canonicalArn: string; uniqueId: string; clientArn: string };
}

interface Lease {
  id: string;
  issuedAt: number;
  expiresAt: number;
  maxExpiresAt: number;
  ttlSeconds: number;
  renewable: boolean;
  revoked: boolean;
  owner: string; // token accessor
  /** the username minted with it (dynamic credentials), to find the lease behind a served value */
  username?: string;
}

interface KvVersion {
  data: Record<string, unknown>;
  created: number;
  deletedAt?: number;
  destroyed: boolean;
}

interface Mount {
  path: string; // "secret/"
  type: 'kv' | 'database';
  kvVersion: 1 | 2;
  optionsVersion: string | null;
  defaultLeaseTtl: number; // seconds, 0 = system default
  accessor: string;
  uuid: string;
  v1: Map<string, Record<string, unknown>>;
  v2: Map<string, { versions: KvVersion[] }>;
  dynamicRoles: Map<string, { ttlSeconds: number; maxTtlSeconds: number; renewable: boolean }>;
}

interface AwsRole {
  auth_type: 'iam' | 'ec2';
  bound_iam_principal_arn: string[];
  bound_iam_principal_id: string[];
  token_policies: string[];
  token_ttl: number;
  token_max_ttl: number;
  resolve_aws_unique_ids: boolean;
  role_id: string;
}

interface AuthMount {
  path: string; // "aws/"
  accessor: string;
  config: {
    iam_server_id_header_value: string;
    sts_endpoint: string;
    use_sts_region_from_client: boolean;
    allowed_sts_header_values: string[];
    sts_region: string;
  };
  roles: Map<string, AwsRole>;
}

export interface FakeVaultExt extends FakeVault {
  /** policies (HCL subset) as Vault stores them */
  writePolicyHcl(name: string, hcl: string): void;
  /** KV v2 read as Vault holds it (for assertions) */
  readKv(mount: string, path: string): Record<string, unknown> | undefined;
  /** revoke one token by accessor (as `vault token revoke -accessor` would) */
  revokeAccessor(accessor: string): void;
  /** mark the server standby (sys/health 429) */
  setStandby(standby: boolean): void;
  /**
   * The next n requests under `pathPrefix` answer 307 with Location <to>/v1/<same path and query>, as a
   * standby does; `to` defaults to this server's own origin.
   */
  injectRedirect(opts: { pathPrefix: string; times: number; to?: string }): void;
  /** The next n requests under `pathPrefix` get no answer at all (the connection stays open until closed). */
  injectHang(opts: { pathPrefix: string; times: number }): void;
  /**
   * Vault under load: answers are held and written together every `ms` (logins first in each burst), so
   * answers to concurrent calls reach the client in one go, in an order that stresses its bookkeeping.
   * undefined: answer at once (the default).
   */
  answerInBursts(ms: number | undefined): void;
  /** The state of the lease that minted these dynamic credentials; undefined if none did. */
  leaseOfUsername(username: string): { leaseId: string; state: 'live' | 'expired' | 'gone' } | undefined;
  readonly sealed: boolean;
  readonly requests: ReadonlyArray<VaultRequestRecord & { query?: string }>;
}

const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, '');
const mountKey = (m: string) => `${trimSlashes(m)}/`;
const rand = (n: number) => randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n);

/** Vault duration fields: a number of seconds, or "90s", "5m", "1h", "1h30m", "3600". */
export function parseDurationSeconds(v: unknown, field: string): number {
  if (v === undefined || v === null || v === '') return 0;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) return Number(v);
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
    let total = 0;
    let consumed = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(v))) {
      const n = Number(m[1]);
      total += n * ({ ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 } as const)[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
      consumed += m[0].length;
    }
    if (consumed === v.length && consumed > 0) return Math.floor(total);
  }
  throw new VaultInputError(`error converting input ${JSON.stringify(v)} for field "${field}": invalid duration`);
}

function stringList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.map((s) => s.trim()).filter(Boolean);
  throw new VaultInputError(`error converting input for field "${field}": expected a string or a list of strings`);
}

function boolField(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new VaultInputError(`error converting input ${JSON.stringify(v)} for field "${field}": expected a boolean`);
}

export async function startFakeVault(opts: {
  sts: FakeSts;
  port?: number;
  rootToken?: string;
  now?: () => number;
}): Promise<FakeVaultExt> {
  const sts = opts.sts as FakeStsExt;
  const rootToken = opts.rootToken ?? 'root';
  const tokens = new Map<string, Token>();
  const leases = new Map<string, Lease>();
  const mounts = new Map<string, Mount>();
  const authMounts = new Map<string, AuthMount>();
  const policies = new Map<string, VaultPolicy>([['default', DEFAULT_POLICY]]);
  const faults: Array<{
    pathPrefix: string;
    status: number;
    times: number;
    retryAfterSeconds?: number;
    body?: unknown;
    redirectTo?: string;
    hang?: boolean;
  }> = [];
  const requests: Array<VaultRequestRecord & { query?: string }> = [];
  const logins: Array<{ ok: boolean; role?: string; error?: string; arn?: string }> = [];
  let sealed = false;
  let standby = false;
  let port = 0;

  const v: FakeVaultExt = {
    addr: '',
    port: 0,
    rootToken,
    requests,
    logins,
    now: opts.now ?? (() => Date.now()),
    get sealed() {
      return sealed;
    },
  } as unknown as FakeVaultExt;
  const now = () => v.now();

  tokens.set(rootToken, {
    id: rootToken,
    accessor: rand(24),
    policies: ['root'],
    root: true,
    issuedAt: now(),
    expiresAt: Infinity,
    maxExpiresAt: Infinity,
    ttlSeconds: 0,
    renewable: false,
    revoked: false,
    namespace: '',
    path: 'auth/token/root',
    meta: null,
    entityId: '',
  });

  // ---------- state helpers ----------
  const tokenAlive = (t: Token | undefined): t is Token => !!t && !t.revoked && now() < t.expiresAt;
  const tokenByAccessor = (a: string) => [...tokens.values()].find((t) => t.accessor === a);
  const leaseState = (l: Lease | undefined): 'live' | 'expired' | 'gone' => {
    if (!l || l.revoked) return 'gone';
    if (!tokenAlive(tokenByAccessor(l.owner))) return 'gone'; // a token's leases die with it
    return now() < l.expiresAt ? 'live' : 'expired';
  };
  const revokeToken = (t: Token) => {
    t.revoked = true;
    for (const l of leases.values()) if (l.owner === t.accessor) l.revoked = true;
  };
  const findMount = (path: string): Mount | undefined => {
    let best: Mount | undefined;
    for (const m of mounts.values())
      if (`${path}/`.startsWith(m.path) && (!best || m.path.length > best.path.length)) best = m;
    return best;
  };
  const newMount = (
    path: string,
    type: Mount['type'],
    kvVersion: 1 | 2,
    optionsVersion: string | null,
    ttl = 0,
  ): Mount => ({
    path: mountKey(path),
    type,
    kvVersion,
    optionsVersion,
    defaultLeaseTtl: ttl,
    accessor: `${type}_${rand(8)}`,
    uuid: randomUUID(),
    v1: new Map(),
    v2: new Map(),
    dynamicRoles: new Map(),
  });
  mounts.set('secret/', newMount('secret', 'kv', 2, '2'));
  mounts.set('cubbyhole/', newMount('cubbyhole', 'kv', 1, null));

  const enableAuth = (mount: string) => {
    const key = mountKey(mount);
    if (!authMounts.has(key)) {
      authMounts.set(key, {
        path: key,
        accessor: `auth_aws_${rand(8)}`,
        config: {
          iam_server_id_header_value: '',
          sts_endpoint: '',
          use_sts_region_from_client: false,
          allowed_sts_header_values: [],
          sts_region: '',
        },
        roles: new Map(),
      });
    }
    return authMounts.get(key)!;
  };

  const writeRoleInternal = (name: string, input: Record<string, unknown>, mount: string) => {
    const am = authMounts.get(mountKey(mount));
    if (!am)
      throw new VaultInputError(
        `no handler for route "auth/${trimSlashes(mount)}/role/${name}". route entry not found.`,
        404,
      );
    const prev = am.roles.get(name);
    const pick = (a: string, b?: string) =>
      input[a] !== undefined ? input[a] : b !== undefined ? input[b] : undefined;
    const authType = (input.auth_type ?? prev?.auth_type ?? 'iam') as string;
    if (authType !== 'iam' && authType !== 'ec2') throw new VaultInputError(`unrecognized auth_type: ${authType}`);
    const bound =
      pick('bound_iam_principal_arn') !== undefined
        ? stringList(input.bound_iam_principal_arn, 'bound_iam_principal_arn')
        : (prev?.bound_iam_principal_arn ?? []);
    const resolve = boolField(
      input.resolve_aws_unique_ids,
      'resolve_aws_unique_ids',
      prev?.resolve_aws_unique_ids ?? true,
    );
    if (prev && prev.resolve_aws_unique_ids === false && resolve)
      throw new VaultInputError('changing resolve_aws_unique_ids from false to true is not allowed');
    const pol = pick('token_policies', 'policies');
    const ttl = pick('token_ttl', 'ttl');
    const maxTtl = pick('token_max_ttl', 'max_ttl');
    const role: AwsRole = {
      auth_type: authType,
      bound_iam_principal_arn: bound,
      bound_iam_principal_id: [],
      token_policies: pol !== undefined ? stringList(pol, 'token_policies') : (prev?.token_policies ?? []),
      token_ttl: ttl !== undefined ? parseDurationSeconds(ttl, 'token_ttl') : (prev?.token_ttl ?? 0),
      token_max_ttl: maxTtl !== undefined ? parseDurationSeconds(maxTtl, 'token_max_ttl') : (prev?.token_max_ttl ?? 0),
      resolve_aws_unique_ids: resolve,
      role_id: prev?.role_id ?? randomUUID(),
    };
    if (role.token_max_ttl > 0 && role.token_ttl > role.token_max_ttl)
      throw new VaultInputError('ttl should be shorter than max ttl');
    if (authType === 'iam' && bound.length === 0)
      throw new VaultInputError('at least one bound parameter should be specified on the role');
    if (resolve) {
      for (const arn of bound) {
        if (arn.endsWith('*')) continue;
        const e = parseIamArn(arn);
        const found =
          e.ok && e.value.type === 'role' ? sts.lookupRoleByName?.(e.value.account, e.value.friendlyName) : undefined;
        if (!found)
          throw new VaultInputError(
            `unable to resolve ARN ${JSON.stringify(arn)} to internal ID: NoSuchEntity: The role with name ${e.ok ? e.value.friendlyName : arn} cannot be found.`,
          );
        role.bound_iam_principal_id.push(found.roleId);
      }
    }
    am.roles.set(name, role);
  };

  const writeKvInternal = (mount: Mount, path: string, data: Record<string, unknown>): number => {
    if (mount.kvVersion === 1) {
      mount.v1.set(path, { ...data });
      return 0;
    }
    const e = mount.v2.get(path) ?? { versions: [] };
    e.versions.push({ data: { ...data }, created: now(), destroyed: false });
    mount.v2.set(path, e);
    return e.versions.length;
  };

  /** Is this caller still bound to the role? (login step 11, and the check renewals repeat) */
  const boundTo = (role: AwsRole, entity: IamEntity, uniqueId: string): boolean => {
    if (role.bound_iam_principal_arn.length === 0) return true;
    if (role.bound_iam_principal_id.includes(uniqueId)) return true;
    const canon = canonicalArn(entity);
    if (!role.resolve_aws_unique_ids && role.bound_iam_principal_arn.includes(canon)) return true;
    // the wildcard check compares against the full ARN, path included (Vault asks IAM for it)
    const reg =
      entity.type === 'role' || entity.type === 'assumed-role'
        ? sts.lookupRoleByName?.(entity.account, entity.friendlyName)
        : undefined;
    const full = reg ? reg.roleArn : canon;
    return role.bound_iam_principal_arn.some((p) => p.endsWith('*') && globbedMatch(p, full));
  };

  // ---------- HTTP plumbing ----------
  const envelope = (extra: Record<string, unknown>) => ({
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: null,
    ...extra,
  });

  class HttpReply {
    constructor(
      readonly status: number,
      readonly body?: unknown,
      readonly headers: Record<string, string> = {},
    ) {}
  }
  const errors = (status: number, ...msgs: string[]) => new HttpReply(status, { errors: msgs });
  const denied = () => errors(403, PERMISSION_DENIED);

  const tokenView = (t: Token) => {
    const ttl = t.root ? 0 : Math.max(0, Math.floor((t.expiresAt - now()) / 1000));
    return {
      accessor: t.accessor,
      creation_time: Math.floor(t.issuedAt / 1000),
      creation_ttl: t.ttlSeconds,
      display_name: t.root ? 'root' : `aws-${t.aws?.role ?? ''}`,
      entity_id: t.entityId,
      expire_time: t.root ? null : new Date(t.expiresAt).toISOString(),
      explicit_max_ttl: 0,
      id: t.id,
      issue_time: new Date(t.issuedAt).toISOString(),
      meta: t.meta,
      num_uses: 0,
      orphan: true,
      path: t.path,
      policies: t.policies,
      renewable: t.renewable,
      ttl,
      type: 'service',
      ...(t.namespace ? { namespace_path: `${t.namespace}/` } : {}),
    };
  };

  const authBlock = (t: Token, leaseDuration: number) => ({
    client_token: t.id,
    accessor: t.accessor,
    policies: t.policies,
    token_policies: t.policies,
    metadata: t.meta,
    lease_duration: leaseDuration,
    renewable: t.renewable,
    entity_id: t.entityId,
    token_type: 'service',
    orphan: true,
    mfa_requirement: null,
    num_uses: 0,
  });

  // ---------- login ----------
  async function login(mount: AuthMount, data: Record<string, unknown>, namespace: string): Promise<HttpReply> {
    const fail = (msg: string, role?: string, arn?: string) => {
      logins.push({ ok: false, error: msg, ...(role ? { role } : {}), ...(arn ? { arn } : {}) });
      return errors(400, msg);
    };
    const parsed = parseLoginRequest(data);
    if (!parsed.ok) return fail(parsed.error, typeof data.role === 'string' ? data.role : undefined);
    const lg = parsed.value;
    const cfg = mount.config;
    if (cfg.iam_server_id_header_value) {
      const e = validateServerIdHeader(lg.headers, cfg.iam_server_id_header_value);
      if (e) return fail(e, lg.role);
    }
    const allow = validateAllowedHeaders(lg.headers, cfg.allowed_sts_header_values);
    if (allow) return fail(allow, lg.role);
    const target = forwardTarget(
      cfg.sts_endpoint || 'https://sts.amazonaws.com',
      sts.url,
      cfg.use_sts_region_from_client,
      lg.headers,
    );
    if (!target.ok) return fail(target.error, lg.role);
    const caller = await submitCallerIdentityRequest(target.value, lg);
    if (!caller.ok) return fail(caller.error, lg.role);
    const { arn, userId, account } = caller.value;
    const entity = parseIamArn(arn);
    if (!entity.ok) return fail(`error parsing arn ${JSON.stringify(arn)}: ${entity.error}`, lg.role, arn);
    const roleName = lg.role || entity.value.friendlyName;
    const role = mount.roles.get(roleName);
    if (!role) return fail(`entry for role ${roleName} not found`, roleName, arn);
    if (role.auth_type !== 'iam') return fail(`auth method iam not allowed for role ${roleName}`, roleName, arn);
    const uniqueId = userId.split(':')[0] ?? '';
    if (!boundTo(role, entity.value, uniqueId))
      return fail(
        `IAM Principal ${JSON.stringify(arn)} does not belong to the role ${JSON.stringify(roleName)}`,
        roleName,
        arn,
      );

    const ttl = role.token_ttl || SYSTEM_MAX_TTL;
    const maxTtl = Math.min(role.token_max_ttl || SYSTEM_MAX_TTL, SYSTEM_MAX_TTL);
    const effTtl = Math.min(ttl, maxTtl);
    const t: Token = {
      id: `hvs.${rand(90)}`,
      accessor: rand(24),
      policies: [...new Set(['default', ...role.token_policies.filter((p) => p !== 'default')])].sort(),
      root: false,
      issuedAt: now(),
      expiresAt: now() + effTtl * 1000,
      maxExpiresAt: now() + maxTtl * 1000,
      ttlSeconds: ttl,
      renewable: true,
      revoked: false,
      namespace,
      path: `auth/${mount.path}login`,
      meta: {
        account_id: entity.value.account,
        auth_type: 'iam',
        canonical_arn: canonicalArn(entity.value),
        client_arn: arn,
        client_user_id: uniqueId,
        inferred_aws_region: '',
        inferred_entity_id: '',
        inferred_entity_type: '',
        role_id: role.role_id,
      },
      entityId: randomUUID(),
      aws: { mount: mount.path, role: roleName, canonicalArn: canonicalArn(entity.value), uniqueId, clientArn: arn },
    };
    void account;
    tokens.set(t.id, t);
    logins.push({ ok: true, role: roleName, arn });
    return new HttpReply(200, { ...envelope({}), auth: authBlock(t, effTtl), mount_type: 'aws' });
  }

  // ---------- authenticated routes ----------
  const policiesOf = (t: Token) => t.policies.map((p) => policies.get(p)).filter((p): p is VaultPolicy => !!p);
  const can = (t: Token, path: string, ...need: string[]) => {
    if (t.root) return true;
    const caps = capabilitiesFor(policiesOf(t), path);
    return need.some((c) => caps.has(c));
  };

  function renewToken(t: Token, body: Record<string, unknown>): HttpReply {
    if (!t.renewable) return errors(400, 'lease is not renewable');
    if (t.aws) {
      const am = authMounts.get(t.aws.mount);
      const role = am?.roles.get(t.aws.role);
      if (!role) return errors(400, 'failed to renew entry: role entry not found');
      const e = parseIamArn(t.aws.clientArn);
      if (role.auth_type !== 'iam' || !e.ok || !boundTo(role, e.value, t.aws.uniqueId)) {
        return errors(400, `failed to renew entry: role no longer bound to ARN ${JSON.stringify(t.aws.canonicalArn)}`);
      }
      const roleMax = (role.token_max_ttl || SYSTEM_MAX_TTL) * 1000;
      t.maxExpiresAt = Math.min(t.maxExpiresAt, t.issuedAt + roleMax);
    }
    const inc = parseDurationSeconds(body.increment, 'increment') || t.ttlSeconds;
    const remainingMax = Math.max(0, Math.floor((t.maxExpiresAt - now()) / 1000));
    const granted = Math.min(inc, remainingMax);
    const warnings =
      granted < inc
        ? [`TTL of "${inc}s" exceeded the effective max_ttl of "${remainingMax}s"; TTL value is capped accordingly`]
        : null;
    t.expiresAt = now() + granted * 1000;
    return new HttpReply(200, { ...envelope({ warnings }), auth: authBlock(t, granted) });
  }

  function renewLease(leaseId: unknown, incRaw: unknown): HttpReply {
    if (typeof leaseId !== 'string' || !leaseId) return errors(400, 'lease_id must be specified');
    const l = leases.get(leaseId);
    const st = leaseState(l);
    if (st === 'gone' || !l) return errors(400, 'lease not found');
    if (st === 'expired') return errors(400, 'lease expired');
    if (!l.renewable) return errors(400, 'lease is not renewable');
    const inc = parseDurationSeconds(incRaw, 'increment') || l.ttlSeconds;
    const remainingMax = Math.max(0, Math.floor((l.maxExpiresAt - now()) / 1000));
    const granted = Math.min(inc, remainingMax);
    l.expiresAt = now() + granted * 1000;
    const warnings =
      granted < inc
        ? [`TTL of "${inc}s" exceeded the effective max_ttl of "${remainingMax}s"; TTL value is capped accordingly`]
        : null;
    return new HttpReply(200, envelope({ lease_id: l.id, renewable: true, lease_duration: granted, warnings }));
  }

  function mountInfo(t: Token, path: string): HttpReply {
    const m = findMount(path);
    if (!m) return denied();
    // real Vault: any capability anywhere under the mount (hasMountAccess); a rule on this endpoint itself is not enough
    const allowed = t.root || anyAccessUnder(policiesOf(t), m.path);
    if (!allowed) return denied();
    return new HttpReply(
      200,
      envelope({
        data: {
          accessor: m.accessor,
          config: { default_lease_ttl: m.defaultLeaseTtl, force_no_cache: false, max_lease_ttl: 0 },
          description: m.path === 'secret/' ? 'key/value secret storage' : '',
          external_entropy_access: false,
          local: false,
          options: m.optionsVersion === null ? null : { version: m.optionsVersion },
          path: m.path,
          plugin_version: '',
          running_plugin_version: m.type === 'kv' ? 'v0.20.0+builtin' : 'v1.17.0+builtin.vault',
          running_sha256: '',
          seal_wrap: false,
          type: m.type,
          uuid: m.uuid,
        },
      }),
    );
  }

  function kvRoute(
    t: Token,
    m: Mount,
    rel: string,
    method: string,
    body: Record<string, unknown>,
    query: URLSearchParams,
    full: string,
  ): HttpReply {
    const needWrite = (exists: boolean) => (exists ? ['update'] : ['create']);
    if (m.type === 'database') {
      const cm = /^creds\/([^/]+)$/.exec(rel);
      if (!cm || method !== 'GET') return errors(405, 'unsupported operation');
      if (!can(t, full, 'read')) return denied();
      const r = m.dynamicRoles.get(cm[1]!);
      if (!r) return errors(400, `unknown role: ${cm[1]}`);
      const id = `${m.path}creds/${cm[1]}/${rand(24)}`;
      const username = `v-aws-${cm[1]}-${rand(20)}`;
      leases.set(id, {
        id,
        issuedAt: now(),
        expiresAt: now() + r.ttlSeconds * 1000,
        maxExpiresAt: now() + r.maxTtlSeconds * 1000,
        ttlSeconds: r.ttlSeconds,
        renewable: r.renewable,
        revoked: false,
        owner: t.accessor,
        username,
      });
      return new HttpReply(
        200,
        envelope({
          lease_id: id,
          renewable: r.renewable,
          lease_duration: r.ttlSeconds,
          data: { username, password: rand(20) },
        }),
      );
    }
    if (m.kvVersion === 1) {
      if (!rel) return errors(405, 'unsupported operation');
      const exists = m.v1.has(rel);
      if (method === 'GET') {
        if (!can(t, full, 'read')) return denied();
        const d = m.v1.get(rel);
        if (!d) return errors(404);
        const ttl = d.ttl !== undefined ? parseDurationSeconds(d.ttl, 'ttl') : m.defaultLeaseTtl || SYSTEM_MAX_TTL;
        return new HttpReply(200, { ...envelope({ lease_duration: ttl, data: d }), mount_type: 'kv' });
      }
      if (method === 'POST' || method === 'PUT') {
        if (!can(t, full, ...needWrite(exists))) return denied();
        writeKvInternal(m, rel, body);
        return new HttpReply(204);
      }
      if (method === 'DELETE') {
        if (!can(t, full, 'delete')) return denied();
        m.v1.delete(rel);
        return new HttpReply(204);
      }
      return errors(405, 'unsupported operation');
    }
    // KV v2
    const dm = /^(data|metadata)\/(.+)$/.exec(rel);
    if (!dm) {
      if (!can(t, full, 'read', 'create', 'update', 'delete', 'list')) return denied();
      return new HttpReply(404, envelope({ warnings: [KV2_BAD_PATH] }));
    }
    const [, kind, p] = dm as unknown as [string, string, string];
    const e = m.v2.get(p);
    const metaOf = (ver: KvVersion, n: number) => ({
      created_time: new Date(ver.created).toISOString(),
      custom_metadata: null,
      deletion_time: ver.deletedAt ? new Date(ver.deletedAt).toISOString() : '',
      destroyed: ver.destroyed,
      version: n,
    });
    if (kind === 'data') {
      if (method === 'GET') {
        if (!can(t, full, 'read')) return denied();
        if (!e || e.versions.length === 0) return errors(404);
        const q = query.get('version');
        const n = q && q !== '0' ? Number(q) : e.versions.length;
        if (!Number.isInteger(n) || n < 1) return errors(400, 'invalid version');
        const ver = e.versions[n - 1];
        if (!ver) return errors(404);
        if (ver.deletedAt || ver.destroyed)
          return new HttpReply(404, {
            ...envelope({ data: { data: null, metadata: metaOf(ver, n) } }),
            mount_type: 'kv',
          });
        return new HttpReply(200, {
          ...envelope({ data: { data: ver.data, metadata: metaOf(ver, n) } }),
          mount_type: 'kv',
        });
      }
      if (method === 'POST' || method === 'PUT') {
        if (!can(t, full, ...needWrite(!!e))) return denied();
        const d = body.data;
        if (!d || typeof d !== 'object' || Array.isArray(d)) return errors(400, 'no data provided');
        const cas = (body.options as Record<string, unknown> | undefined)?.cas;
        if (cas !== undefined && Number(cas) !== (e?.versions.length ?? 0))
          return errors(400, 'check-and-set parameter did not match the current version');
        const n = writeKvInternal(m, p, d as Record<string, unknown>);
        return new HttpReply(200, envelope({ data: metaOf(m.v2.get(p)!.versions[n - 1]!, n) }));
      }
      if (method === 'DELETE') {
        if (!can(t, full, 'delete')) return denied();
        const last = e?.versions[e.versions.length - 1];
        if (last && !last.deletedAt) last.deletedAt = now();
        return new HttpReply(204);
      }
      return errors(405, 'unsupported operation');
    }
    if (method === 'GET') {
      if (!can(t, full, 'read')) return denied();
      if (!e) return errors(404);
      const versions: Record<string, unknown> = {};
      e.versions.forEach((ver, i) => (versions[String(i + 1)] = metaOf(ver, i + 1)));
      return new HttpReply(
        200,
        envelope({
          data: {
            current_version: e.versions.length,
            oldest_version: 1,
            versions,
            max_versions: 0,
            cas_required: false,
            custom_metadata: null,
          },
        }),
      );
    }
    if (method === 'DELETE') {
      if (!can(t, full, 'delete')) return denied();
      m.v2.delete(p);
      return new HttpReply(204);
    }
    return errors(405, 'unsupported operation');
  }

  async function route(
    t: Token,
    method: string,
    path: string,
    body: Record<string, unknown>,
    query: URLSearchParams,
  ): Promise<HttpReply> {
    const write = method === 'POST' || method === 'PUT';
    if (path === 'auth/token/lookup-self') {
      if (!can(t, path, 'read')) return denied();
      return new HttpReply(200, envelope({ data: tokenView(t) }));
    }
    if (path === 'auth/token/renew-self' && write) {
      if (!can(t, path, 'update')) return denied();
      return renewToken(t, body);
    }
    if (path === 'auth/token/revoke-self' && write) {
      if (!can(t, path, 'update')) return denied();
      revokeToken(t);
      return new HttpReply(204);
    }
    let m: RegExpExecArray | null;
    if ((m = /^sys\/internal\/ui\/mounts\/(.+)$/.exec(path)) && method === 'GET') return mountInfo(t, m[1]!);
    if ((m = /^sys\/(?:leases\/renew|renew)(?:\/(.+))?$/.exec(path)) && write) {
      if (!can(t, m[1] ? path : 'sys/leases/renew', 'update')) return denied();
      return renewLease(m[1] ?? body.lease_id, body.increment);
    }
    if ((m = /^sys\/(?:leases\/revoke|revoke)(?:\/(.+))?$/.exec(path)) && write) {
      if (!can(t, path, 'update')) return denied();
      const l = leases.get(String(m[1] ?? body.lease_id ?? ''));
      if (l) l.revoked = true;
      return new HttpReply(204);
    }
    // ----- configuration surface (root or sudo-capable tokens) -----
    if ((m = /^sys\/auth\/(.+)$/.exec(path))) {
      if (!can(t, path, 'sudo')) return denied();
      if (write) {
        if (body.type !== 'aws') throw new VaultInputError(`plugin not found in the catalog: ${String(body.type)}`);
        if (authMounts.has(mountKey(m[1]!))) throw new VaultInputError(`path is already in use at ${mountKey(m[1]!)}`);
        enableAuth(m[1]!);
        return new HttpReply(204);
      }
      if (method === 'DELETE') {
        authMounts.delete(mountKey(m[1]!));
        return new HttpReply(204);
      }
    }
    if ((m = /^auth\/(.+)\/config\/client$/.exec(path))) {
      const am = authMounts.get(mountKey(m[1]!));
      if (!am) return errors(404, `no handler for route "${path}". route entry not found.`);
      if (!can(t, path, write ? 'update' : 'read', 'create')) return denied();
      if (write) {
        const c = am.config;
        if (body.iam_server_id_header_value !== undefined)
          c.iam_server_id_header_value = String(body.iam_server_id_header_value);
        if (body.sts_endpoint !== undefined) c.sts_endpoint = String(body.sts_endpoint);
        if (body.sts_region !== undefined) c.sts_region = String(body.sts_region);
        c.use_sts_region_from_client = boolField(
          body.use_sts_region_from_client,
          'use_sts_region_from_client',
          c.use_sts_region_from_client,
        );
        if (body.allowed_sts_header_values !== undefined)
          c.allowed_sts_header_values = stringList(body.allowed_sts_header_values, 'allowed_sts_header_values');
        return new HttpReply(204);
      }
      if (method === 'GET') return new HttpReply(200, envelope({ data: { ...am.config } }));
      if (method === 'DELETE') {
        am.config = {
          iam_server_id_header_value: '',
          sts_endpoint: '',
          use_sts_region_from_client: false,
          allowed_sts_header_values: [],
          sts_region: '',
        };
        return new HttpReply(204);
      }
    }
    if ((m = /^auth\/(.+)\/role\/([^/]+)$/.exec(path))) {
      const am = authMounts.get(mountKey(m[1]!));
      if (!am) return errors(404, `no handler for route "${path}". route entry not found.`);
      const name = m[2]!.toLowerCase();
      if (write) {
        if (!can(t, path, 'create', 'update')) return denied();
        writeRoleInternal(name, body, m[1]!);
        return new HttpReply(204);
      }
      if (method === 'GET') {
        if (!can(t, path, 'read')) return denied();
        const r = am.roles.get(name);
        if (!r) return errors(404);
        return new HttpReply(
          200,
          envelope({ data: { ...r, policies: r.token_policies, ttl: r.token_ttl, max_ttl: r.token_max_ttl } }),
        );
      }
      if (method === 'DELETE') {
        if (!can(t, path, 'delete')) return denied();
        am.roles.delete(name);
        return new HttpReply(204);
      }
    }
    if ((m = /^sys\/(?:policies\/acl|policy)\/([^/]+)$/.exec(path))) {
      const name = m[1]!.toLowerCase();
      if (!can(t, path, write ? 'update' : method === 'DELETE' ? 'delete' : 'read', 'create')) return denied();
      if (write) {
        const hcl = body.policy ?? body.rules;
        if (typeof hcl !== 'string') throw new VaultInputError("'policy' parameter not supplied or empty");
        if (name === 'root') throw new VaultInputError('cannot update "root" policy');
        try {
          policies.set(name, parsePolicyHcl(hcl));
        } catch (e) {
          if (e instanceof PolicyParseError) throw new VaultInputError(e.message);
          throw e;
        }
        return new HttpReply(204);
      }
      if (method === 'GET')
        return policies.has(name)
          ? new HttpReply(200, envelope({ data: { name, policy: JSON.stringify(policies.get(name)) } }))
          : errors(404);
      if (method === 'DELETE') {
        policies.delete(name);
        return new HttpReply(204);
      }
    }
    if ((m = /^sys\/mounts\/(.+)$/.exec(path)) && !/\/tune$/.test(path)) {
      if (!can(t, path, 'sudo')) return denied();
      const key = mountKey(m[1]!);
      if (write) {
        if (mounts.has(key)) throw new VaultInputError(`path is already in use at ${key}`);
        const type = String(body.type ?? '');
        const o = (body.options ?? {}) as Record<string, unknown>;
        const cfg = (body.config ?? {}) as Record<string, unknown>;
        const ttl = parseDurationSeconds(cfg.default_lease_ttl, 'default_lease_ttl');
        if (type === 'kv' || type === 'kv-v2' || type === 'generic') {
          const ver = type === 'kv-v2' ? '2' : o.version === undefined ? null : String(o.version);
          if (ver !== null && ver !== '1' && ver !== '2' && ver !== '')
            throw new VaultInputError(`invalid KV version: ${ver}`);
          mounts.set(key, newMount(key, 'kv', ver === '2' ? 2 : 1, ver, ttl));
        } else if (type === 'database') {
          mounts.set(key, newMount(key, 'database', 1, null, ttl));
        } else {
          throw new VaultInputError(`plugin not found in the catalog: ${type}`);
        }
        return new HttpReply(204);
      }
      if (method === 'DELETE') {
        mounts.delete(key);
        return new HttpReply(204);
      }
    }
    const mount = findMount(path);
    if (mount && !path.startsWith('sys/') && !path.startsWith('auth/')) {
      return kvRoute(t, mount, path.slice(mount.path.length), method, body, query, path);
    }
    if (!t.root && !can(t, path, 'read', 'update', 'create', 'delete', 'list')) return denied();
    return errors(404, `no handler for route "${path}". route entry not found.`);
  }

  // ---------- request entry point ----------
  const healthBody = () => ({
    initialized: true,
    sealed,
    standby,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(now() / 1000),
    version: '1.17.0',
    enterprise: false,
    cluster_name: 'vault-cluster-fake',
    cluster_id: '00000000-0000-0000-0000-000000000000',
    echo_duration_ms: 0,
    clock_skew_ms: 0,
  });

  async function handle(
    req: IncomingMessage,
  ): Promise<{ reply: HttpReply | 'hang'; record: Omit<VaultRequestRecord, 'status' | 'at'> & { query?: string } }> {
    const target = req.url ?? '/';
    const qi = target.indexOf('?');
    const rawPath = qi < 0 ? target : target.slice(0, qi);
    const query = new URLSearchParams(qi < 0 ? '' : target.slice(qi + 1));
    let method = (req.method ?? 'GET').toUpperCase();
    if (method === 'GET' && query.get('list') === 'true') method = 'LIST';
    const path = trimSlashes(decodeURIComponent(rawPath.replace(/^\/v1\//, '')));
    const nsHeader = req.headers['x-vault-namespace'];
    const namespace = trimSlashes(typeof nsHeader === 'string' ? nsHeader : '');
    const tokHeader = req.headers['x-vault-token'];
    const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    const tokenId = typeof tokHeader === 'string' && tokHeader ? tokHeader : bearer;
    const tok = tokenId ? tokens.get(tokenId) : undefined;
    const record = {
      method,
      path,
      token: (!tokenId ? 'none' : tokenAlive(tok) ? 'valid' : 'invalid') as VaultRequestRecord['token'],
      ...(namespace ? { namespace } : {}),
      ...(qi >= 0 ? { query: target.slice(qi + 1) } : {}),
    };
    if (!rawPath.startsWith('/v1/')) return { reply: errors(404), record };

    const fault = faults.find((f) => path.startsWith(trimSlashes(f.pathPrefix)) && f.times > 0);
    if (fault) {
      fault.times -= 1;
      if (fault.times <= 0) faults.splice(faults.indexOf(fault), 1);
      if (fault.hang) return { reply: 'hang', record };
      if (fault.redirectTo !== undefined) {
        return { reply: new HttpReply(307, undefined, { location: `${fault.redirectTo || v.addr}${target}` }), record };
      }
      const headers: Record<string, string> =
        fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      return {
        reply: new HttpReply(
          fault.status,
          fault.body ?? { errors: fault.status === 404 ? [] : [`injected fault: ${fault.status}`] },
          headers,
        ),
        record,
      };
    }
    if (path === 'sys/health' && (method === 'GET' || method === 'HEAD')) {
      const code = (q: string, d: number) => (query.has(q) ? Number(query.get(q)) : d);
      const status = sealed
        ? code('sealedcode', 503)
        : standby
          ? query.has('standbyok')
            ? 200
            : code('standbycode', 429)
          : code('activecode', 200);
      return { reply: new HttpReply(status, healthBody()), record };
    }
    if (path === 'sys/seal-status' && method === 'GET') {
      return {
        reply: new HttpReply(200, {
          type: 'shamir',
          initialized: true,
          sealed,
          t: 1,
          n: 1,
          progress: 0,
          version: '1.17.0',
        }),
        record,
      };
    }
    if (sealed) return { reply: errors(503, 'Vault is sealed'), record };

    let body: Record<string, unknown> = {};
    if (method === 'POST' || method === 'PUT' || method === 'DELETE') {
      const raw = (await readBody(req)).toString('utf8').trim();
      if (raw) {
        try {
          const parsed: unknown = JSON.parse(raw);
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed as Record<string, unknown>;
        } catch (e) {
          return {
            reply: errors(400, `failed to parse JSON input: ${e instanceof Error ? e.message : 'invalid'}`),
            record,
          };
        }
      }
    }
    const lm = /^auth\/(.+)\/login$/.exec(path);
    if (lm && authMounts.has(mountKey(lm[1]!)) && (method === 'POST' || method === 'PUT')) {
      return { reply: await login(authMounts.get(mountKey(lm[1]!))!, body, namespace), record };
    }
    if (!tokenId) return { reply: errors(403, 'permission denied'), record };
    if (!tokenAlive(tok)) return { reply: errors(403, INVALID_TOKEN), record };
    if (tok.namespace !== namespace && !(tok.root && tok.namespace === '')) return { reply: denied(), record };
    try {
      return { reply: await route(tok, method, path, body, query), record };
    } catch (e) {
      if (e instanceof VaultInputError) return { reply: errors(e.status, e.message), record };
      throw e;
    }
  }

  let burstMs: number | undefined;
  let burst: Array<{ login: boolean; write: () => void }> = [];
  let burstTimer: NodeJS.Timeout | undefined;
  const flushBurst = () => {
    burstTimer = undefined;
    const out = burst;
    burst = [];
    for (const b of out.filter((x) => x.login)) b.write();
    for (const b of out.filter((x) => !x.login)) b.write();
  };
  const answer = (login: boolean, write: () => void) => {
    if (burstMs === undefined) return write();
    burst.push({ login, write });
    burstTimer ??= setTimeout(flushBurst, burstMs - (Date.now() % burstMs));
  };

  const server = createServer((req, res: ServerResponse) => {
    handle(req)
      .then(
        ({ reply, record }) =>
          new Promise<{ reply: HttpReply | 'hang'; record: typeof record }>((resolve) => {
            if (reply === 'hang') return resolve({ reply, record });
            answer(/\/login$/.test(record.path), () => resolve({ reply, record }));
          }),
      )
      .then(({ reply, record }) => {
        if (reply === 'hang') {
          requests.push({ ...record, status: 0, at: now() });
          return;
        }
        requests.push({ ...record, status: reply.status, at: now() });
        const headers: Record<string, string> = { 'cache-control': 'no-store', ...reply.headers };
        if (reply.body === undefined || reply.status === 204) {
          res.writeHead(reply.status, headers);
          res.end();
          return;
        }
        headers['content-type'] = 'application/json';
        res.writeHead(reply.status, headers);
        res.end(req.method === 'HEAD' ? undefined : `${JSON.stringify(reply.body)}\n`);
      })
      .catch((e: unknown) => {
        if (res.headersSent) return res.destroy();
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [`internal error: ${e instanceof Error ? e.message : 'unknown'}`] }));
      });
  });

  port = await listen(server, opts.port ?? 0);
  Object.assign(v, { addr: `http://127.0.0.1:${port}`, port });

  // ---------- programmatic API ----------
  Object.assign(v, {
    configureAwsAuth({
      mount = 'aws',
      iamServerIdHeaderValue,
      stsEndpoint,
      useStsRegionFromClient,
    }: Parameters<FakeVault['configureAwsAuth']>[0]) {
      const am = enableAuth(mount);
      am.config.iam_server_id_header_value = iamServerIdHeaderValue ?? '';
      am.config.sts_endpoint = stsEndpoint ?? sts.url;
      am.config.use_sts_region_from_client = useStsRegionFromClient ?? false;
    },
    writeRole(name: string, cfg: VaultRoleConfig, mount = 'aws') {
      enableAuth(mount);
      writeRoleInternal(name.toLowerCase(), { ...cfg }, mount);
    },
    deleteRole(name: string, mount = 'aws') {
      authMounts.get(mountKey(mount))?.roles.delete(name.toLowerCase());
    },
    writePolicy(name: string, policy: VaultPolicy) {
      policies.set(name, { ...policy });
    },
    writePolicyHcl(name: string, hcl: string) {
      policies.set(name, parsePolicyHcl(hcl));
    },
    enableKv(mount: string, version: 1 | 2, o: { defaultLeaseTtlSeconds?: number } = {}) {
      mounts.set(mountKey(mount), newMount(mount, 'kv', version, String(version), o.defaultLeaseTtlSeconds ?? 0));
    },
    writeKv(mount: string, path: string, data: Record<string, unknown>) {
      const m = mounts.get(mountKey(mount));
      if (!m || m.type !== 'kv') throw new Error(`writeKv: no KV mount at ${mount}`);
      return writeKvInternal(m, trimSlashes(path), data);
    },
    readKv(mount: string, path: string) {
      const m = mounts.get(mountKey(mount));
      if (!m) return undefined;
      if (m.kvVersion === 1) return m.v1.get(trimSlashes(path));
      const e = m.v2.get(trimSlashes(path));
      const last = e?.versions[e.versions.length - 1];
      return last && !last.deletedAt && !last.destroyed ? last.data : undefined;
    },
    deleteKvLatest(mount: string, path: string) {
      const m = mounts.get(mountKey(mount));
      const e = m?.v2.get(trimSlashes(path));
      const last = e?.versions[e.versions.length - 1];
      if (last && !last.deletedAt) last.deletedAt = now();
    },
    enableDynamic(mount: string, role: string, o: { ttlSeconds: number; maxTtlSeconds: number; renewable?: boolean }) {
      const key = mountKey(mount);
      const m = mounts.get(key) ?? newMount(mount, 'database', 1, null);
      if (m.type !== 'database') throw new Error(`enableDynamic: ${mount} is a ${m.type} mount`);
      m.dynamicRoles.set(role, {
        ttlSeconds: o.ttlSeconds,
        maxTtlSeconds: o.maxTtlSeconds,
        renewable: o.renewable ?? true,
      });
      mounts.set(key, m);
    },
    async stop() {
      await closeServer(server);
    },
    async start() {
      if (!server.listening) await listen(server, port);
    },
    seal() {
      sealed = true;
    },
    unseal() {
      sealed = false;
    },
    setStandby(s: boolean) {
      standby = s;
    },
    expireAllTokens() {
      for (const t of tokens.values()) if (!t.root) t.expiresAt = Math.min(t.expiresAt, now());
    },
    expireAllLeases() {
      for (const l of leases.values()) l.expiresAt = Math.min(l.expiresAt, now());
    },
    injectFault(f: { pathPrefix: string; status: number; times: number; retryAfterSeconds?: number; body?: unknown }) {
      faults.push({ ...f });
    },
    injectRedirect(f: { pathPrefix: string; times: number; to?: string }) {
      faults.push({ pathPrefix: f.pathPrefix, times: f.times, status: 307, redirectTo: f.to ?? '' });
    },
    injectHang(f: { pathPrefix: string; times: number }) {
      faults.push({ pathPrefix: f.pathPrefix, times: f.times, status: 0, hang: true });
    },
    answerInBursts(ms: number | undefined) {
      burstMs = ms;
      if (ms === undefined && burstTimer) {
        clearTimeout(burstTimer);
        flushBurst();
      }
    },
    leaseOfUsername(username: string) {
      const l = [...leases.values()].find((x) => x.username === username);
      return l ? { leaseId: l.id, state: leaseState(l) } : undefined;
    },
    clearRequests() {
      requests.length = 0;
    },
    liveTokens() {
      return [...tokens.values()]
        .filter((t) => !t.root && tokenAlive(t))
        .map((t) => ({
          accessor: t.accessor,
          policies: t.policies,
          ttlSeconds: Math.max(0, Math.floor((t.expiresAt - now()) / 1000)),
          renewable: t.renewable,
        }));
    },
    liveLeases() {
      return [...leases.values()]
        .filter((l) => leaseState(l) === 'live')
        .map((l) => ({ leaseId: l.id, expiresAt: l.expiresAt }));
    },
    revokeAccessor(accessor: string) {
      const t = tokenByAccessor(accessor);
      if (t) revokeToken(t);
    },
    close: () => {
      if (burstTimer) clearTimeout(burstTimer);
      return closeServer(server);
    },
  });
  return v;
}
