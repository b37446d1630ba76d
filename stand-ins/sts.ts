/**
 * AWS STS stand-in: AssumeRoleWithWebIdentity (unsigned; the JWT is checked against the issuer's JWKS, iss, aud,
 * exp and the role's trust) and GetCallerIdentity (SigV4 recomputed from the table of issued keys). It models
 * which region an endpoint serves, from the Host header, the way AWS's endpoints do.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { compactVerify, createLocalJWKSet, decodeJwt } from 'jose';
import type { FakeSts, IssuedCredentials, StsRole } from './types.js';
import type { OidcIssuerExt } from './oidc-issuer.js';
import { closeServer, listen, rawHeaderMap, readBody, xmlEscape } from './server-util.js';
import { verifySigV4 } from './sigv4-verify.js';

export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/**
 * Set by the fake Vault when it forwards to a regional endpoint it was configured with (or chose through
 * use_sts_region_from_client): stands for "this connection reached sts.<region>.amazonaws.com". Never signed.
 */
export const SERVED_REGION_HEADER = 'x-fakests-served-region';

export interface StsCall {
  action: string;
  ok: boolean;
  code?: string;
  region?: string;
  host?: string;
  /** for GetCallerIdentity: the method and raw path as received (Vault sends `//`) */
  method?: string;
  path?: string;
  /** lowercased names of every header received */
  headerNames?: string[];
}

export interface RegisteredRole extends Required<StsRole> {
  roleId: string;
  account: string;
  roleName: string;
}

export interface FakeStsExt extends FakeSts {
  readonly calls: ReadonlyArray<StsCall>;
  /** the role registered under this ARN (path included or not), for Vault's unique-ID resolution */
  lookupRole(roleArn: string): RegisteredRole | undefined;
  /** the role with this name in this account (what IAM GetRole by name answers) */
  lookupRoleByName(account: string, roleName: string): RegisteredRole | undefined;
  removeRole(roleArn: string): void;
  /** drop a key from the table (as if it were revoked) */
  revokeCredentials(accessKeyId: string): void;
  clearCalls(): void;
  readonly account: string;
}

interface KeyEntry {
  creds: IssuedCredentials;
  account: string;
}

const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:(.+)\/)?([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

function randomId(prefix: string, len: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(len);
  let s = prefix;
  for (let i = 0; i < len; i++) s += alphabet[bytes[i]! % alphabet.length];
  return s;
}

export function parseRoleArn(
  arn: string,
): { partition: string; account: string; path: string; name: string } | undefined {
  const m = ROLE_ARN.exec(arn);
  if (!m) return undefined;
  return { partition: m[1]!, account: m[2]!, path: m[3] ?? '', name: m[4]! };
}

/** Which region an endpoint Host serves: undefined = any (a direct loopback endpoint). */
export function regionForHost(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const h = host.toLowerCase().replace(/:\d+$/, '');
  if (h === 'sts.amazonaws.com') return 'us-east-1';
  const m = /^sts(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(h);
  if (m) return m[1];
  return undefined;
}

function subjectAllowed(sub: string, allowed: string[]): boolean {
  return allowed.some((p) => (p.endsWith('*') ? sub.startsWith(p.slice(0, -1)) : sub === p));
}

export async function startFakeSts(opts: {
  issuer: OidcIssuerExt;
  account?: string;
  port?: number;
}): Promise<FakeStsExt> {
  const account = opts.account ?? '111122223333';
  const roles = new Map<string, RegisteredRole>(); // key: canonical arn without path
  const keys = new Map<string, KeyEntry>();
  const calls: StsCall[] = [];
  const jwks = createLocalJWKSet(opts.issuer.jwks());

  const canonicalKey = (arn: string) => {
    const p = parseRoleArn(arn);
    return p ? `arn:${p.partition}:iam::${p.account}:role/${p.name}` : arn;
  };

  const sts: FakeStsExt = {
    url: '',
    account,
    calls,
    now: () => new Date(),
    addRole(role) {
      const p = parseRoleArn(role.roleArn);
      if (!p) throw new Error(`addRole: malformed role ARN ${role.roleArn}`);
      const prev = roles.get(canonicalKey(role.roleArn));
      roles.set(canonicalKey(role.roleArn), {
        roleArn: role.roleArn,
        allowedSubjects: [...role.allowedSubjects],
        audiences: role.audiences ?? ['sts.amazonaws.com'],
        roleId: prev?.roleId ?? randomId('AROA', 17),
        account: p.account,
        roleName: p.name,
      });
    },
    removeRole(roleArn) {
      roles.delete(canonicalKey(roleArn));
    },
    lookupRole: (roleArn) => roles.get(canonicalKey(roleArn)),
    lookupRoleByName: (acct, name) => [...roles.values()].find((r) => r.account === acct && r.roleName === name),
    issueCredentials(roleArn, sessionName, ttlSeconds = 3600) {
      let role = roles.get(canonicalKey(roleArn));
      if (!role) {
        sts.addRole({ roleArn, allowedSubjects: [] });
        role = roles.get(canonicalKey(roleArn));
      }
      if (!role) throw new Error(`issueCredentials: malformed role ARN ${roleArn}`);
      const p = parseRoleArn(role.roleArn)!;
      const creds: IssuedCredentials = {
        accessKeyId: randomId('ASIA', 16),
        secretAccessKey: randomBytes(30).toString('base64').slice(0, 40),
        sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(96).toString('base64')}`,
        expiration: new Date(sts.now().getTime() + ttlSeconds * 1000),
        assumedRoleArn: `arn:${p.partition}:sts::${p.account}:assumed-role/${p.name}/${sessionName}`,
        roleId: role.roleId,
      };
      keys.set(creds.accessKeyId, { creds, account: p.account });
      return creds;
    },
    revokeCredentials(id) {
      keys.delete(id);
    },
    clearCalls() {
      calls.length = 0;
    },
    close: async () => closeServer(server),
  };

  const sendXml = (res: ServerResponse, status: number, xml: string) => {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    res.end(xml);
  };
  const sendError = (res: ServerResponse, status: number, code: string, message: string) => {
    sendXml(
      res,
      status,
      `<ErrorResponse xmlns="${STS_NS}">\n  <Error>\n    <Type>Sender</Type>\n    <Code>${code}</Code>\n    <Message>${xmlEscape(message)}</Message>\n  </Error>\n  <RequestId>${randomUUID()}</RequestId>\n</ErrorResponse>\n`,
    );
  };

  async function assumeRoleWithWebIdentity(params: URLSearchParams, res: ServerResponse, call: StsCall) {
    const reject = (status: number, code: string, message: string) => {
      call.code = code;
      sendError(res, status, code, message);
    };
    for (const name of ['RoleArn', 'RoleSessionName', 'WebIdentityToken']) {
      if (!params.get(name))
        return reject(
          400,
          'ValidationError',
          `1 validation error detected: Value null at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
        );
    }
    const roleArn = params.get('RoleArn')!;
    const session = params.get('RoleSessionName')!;
    const token = params.get('WebIdentityToken')!;
    if (!parseRoleArn(roleArn)) return reject(400, 'ValidationError', `${roleArn} is invalid`);
    if (!SESSION_NAME.test(session)) {
      return reject(
        400,
        'ValidationError',
        `1 validation error detected: Value '${session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    const duration = params.has('DurationSeconds') ? Number(params.get('DurationSeconds')) : 3600;
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      return reject(
        400,
        'ValidationError',
        `1 validation error detected: Value '${params.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
      );
    }
    let claims: ReturnType<typeof decodeJwt>;
    try {
      claims = decodeJwt(token);
    } catch {
      return reject(
        400,
        'InvalidIdentityToken',
        'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)',
      );
    }
    if (claims.iss !== opts.issuer.url) {
      return reject(
        400,
        'InvalidIdentityToken',
        `No OpenIDConnect provider found in your account for ${String(claims.iss)}`,
      );
    }
    try {
      await compactVerify(token, jwks, { algorithms: ['RS256'] });
    } catch {
      return reject(
        400,
        'InvalidIdentityToken',
        'The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.',
      );
    }
    const nowSec = Math.floor(sts.now().getTime() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= nowSec) {
      return reject(
        400,
        'ExpiredTokenException',
        `Token expired: current date/time ${nowSec} must be before the expiration date/time${String(claims.exp)}`,
      );
    }
    if (typeof claims.nbf === 'number' && claims.nbf > nowSec + 300) {
      return reject(400, 'InvalidIdentityToken', 'Token is not yet valid (nbf)');
    }
    const role = roles.get(canonicalKey(roleArn));
    const auds = Array.isArray(claims.aud) ? claims.aud : claims.aud ? [claims.aud] : [];
    const roleAuds = role?.audiences ?? ['sts.amazonaws.com'];
    const aud = auds.find((a) => roleAuds.includes(a));
    if (!aud) return reject(400, 'InvalidIdentityToken', 'Incorrect token audience');
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    // an unknown role and an untrusted subject look the same from outside, as on AWS
    if (!role || role.roleArn !== roleArn || !subjectAllowed(sub, role.allowedSubjects)) {
      return reject(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    }
    const c = sts.issueCredentials(roleArn, session, duration);
    call.ok = true;
    sendXml(
      res,
      200,
      `<AssumeRoleWithWebIdentityResponse xmlns="${STS_NS}">
  <AssumeRoleWithWebIdentityResult>
    <Audience>${xmlEscape(aud)}</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>${c.roleId}:${xmlEscape(session)}</AssumedRoleId>
      <Arn>${xmlEscape(c.assumedRoleArn)}</Arn>
    </AssumedRoleUser>
    <Provider>${xmlEscape(opts.issuer.url.replace(/^https?:\/\//, ''))}</Provider>
    <Credentials>
      <AccessKeyId>${c.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${xmlEscape(c.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${xmlEscape(c.sessionToken)}</SessionToken>
      <Expiration>${c.expiration.toISOString().replace(/\.\d{3}Z$/, 'Z')}</Expiration>
    </Credentials>
    <SubjectFromWebIdentityToken>${xmlEscape(sub)}</SubjectFromWebIdentityToken>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
`,
    );
  }

  function getCallerIdentity(
    req: IncomingMessage,
    rawPath: string,
    rawQuery: string,
    body: Buffer,
    res: ServerResponse,
    call: StsCall,
    servedRegion: string | undefined,
  ) {
    const headers = rawHeaderMap(req);
    delete headers[SERVED_REGION_HEADER];
    const v = verifySigV4(
      { method: req.method ?? 'GET', path: rawPath, query: rawQuery, headers, body },
      {
        now: sts.now(),
        service: 'sts',
        region: servedRegion,
        lookup: (id) => {
          const k = keys.get(id);
          return k
            ? {
                secretAccessKey: k.creds.secretAccessKey,
                sessionToken: k.creds.sessionToken,
                expiration: k.creds.expiration,
              }
            : undefined;
        },
      },
    );
    if (!v.ok) {
      call.code = v.code;
      if (v.region) call.region = v.region;
      return sendError(res, v.status, v.code, v.message);
    }
    call.region = v.region;
    const entry = keys.get(v.accessKeyId)!;
    const session = entry.creds.assumedRoleArn.split('/').pop() ?? '';
    call.ok = true;
    sendXml(
      res,
      200,
      `<GetCallerIdentityResponse xmlns="${STS_NS}">
  <GetCallerIdentityResult>
    <Arn>${xmlEscape(entry.creds.assumedRoleArn)}</Arn>
    <UserId>${entry.creds.roleId}:${xmlEscape(session)}</UserId>
    <Account>${entry.account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`,
    );
  }

  const server = createServer((req, res) => {
    void (async () => {
      const target = req.url ?? '/';
      const qi = target.indexOf('?');
      const rawPath = qi < 0 ? target : target.slice(0, qi);
      const rawQuery = qi < 0 ? '' : target.slice(qi + 1);
      const host = req.headers.host;
      const hinted = req.headers[SERVED_REGION_HEADER];
      const servedRegion = typeof hinted === 'string' && hinted ? hinted : regionForHost(host);
      const call: StsCall = {
        action: '',
        ok: false,
        host,
        method: req.method,
        path: rawPath,
        headerNames: Object.keys(rawHeaderMap(req)),
      };
      if (servedRegion) call.region = servedRegion;
      calls.push(call);
      try {
        const body = await readBody(req);
        const params = new URLSearchParams(rawQuery);
        if (req.method === 'POST') {
          const ct = String(req.headers['content-type'] ?? '');
          if (ct.startsWith('application/x-www-form-urlencoded')) {
            for (const [k, val] of new URLSearchParams(body.toString('utf8'))) params.append(k, val);
          }
        } else if (req.method !== 'GET') {
          call.code = 'InvalidAction';
          return sendError(res, 400, 'InvalidAction', `Unsupported HTTP method ${req.method}`);
        }
        const action = params.get('Action') ?? '';
        call.action = action;
        if (params.getAll('Action').length !== 1) {
          call.code = 'MissingAction';
          return sendError(res, 400, 'MissingAction', 'Missing Action');
        }
        const version = params.get('Version');
        if (version !== null && version !== '2011-06-15') {
          call.code = 'InvalidAction';
          return sendError(res, 400, 'InvalidAction', `Could not find operation ${action} for version ${version}`);
        }
        if (action === 'AssumeRoleWithWebIdentity') return await assumeRoleWithWebIdentity(params, res, call);
        if (action === 'GetCallerIdentity')
          return getCallerIdentity(req, rawPath, rawQuery, body, res, call, servedRegion);
        call.code = 'InvalidAction';
        return sendError(
          res,
          400,
          'InvalidAction',
          `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`,
        );
      } catch (err) {
        call.code = 'InternalFailure';
        if (!res.headersSent)
          sendError(res, 500, 'InternalFailure', err instanceof Error ? err.message : 'internal error');
        else res.destroy();
      }
    })();
  });
  const port = await listen(server, opts.port ?? 0);
  (sts as { url: string }).url = `http://127.0.0.1:${port}`;
  return sts;
}
