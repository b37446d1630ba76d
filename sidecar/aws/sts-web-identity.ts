/**
 * IRSA: sts:AssumeRoleWithWebIdentity with the pod's projected ServiceAccount token, as the AWS SDK's
 * fromTokenFile did it, in a few dozen lines instead of the SDK's client stack (about 600 KB of bundle and
 * 1.5 MB of private memory in every pod, measured; docs/vault-and-aws.md). The call is unsigned: the token
 * is the proof. The token file is read on every call, because kubelet rotates it.
 */
import { readFile } from '../fs-async.js';
import type { AwsCredentials } from '../iam-login.js';
import { partitionOf } from '../contract/grammars.js';
import { VaultIrsaError } from '../errors.js';
import { dnsSuffix } from '../sts-endpoint.js';
import { send as defaultSend, type HttpSend } from './http-call.js';
import { isRetryable, retryDelayMs, type FailedCall } from './retry.js';
import { redact, scrubbed } from './scrub.js';
import { parseAssumeRoleWithWebIdentity } from './sts-xml.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Thrown for an endpoint setting the sidecar cannot honour; the message names the variable. */
export class StsEndpointError extends VaultIrsaError {
  override readonly name = 'StsEndpointError';
  constructor(message: string) {
    super('sts_endpoint_invalid', message);
  }
}

/** The SDK's reading of a boolean env setting: unset or empty is undefined, else exactly "true" or "false". */
function envBoolean(env: Env, name: string): boolean {
  const v = env[name];
  if (v === undefined || v === '') return false;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new StsEndpointError(`${name} must be "true" or "false", got "${v.slice(0, 40)}"`);
}

/**
 * Where AssumeRoleWithWebIdentity goes, by the rules of the SDK's STS client: a configured endpoint
 * (AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true) as given;
 * else the regional endpoint of the region's partition, its FIPS variant with AWS_USE_FIPS_ENDPOINT=true
 * (GovCloud's regional endpoints are FIPS already). Not the global endpoint: the SDK v3 client is regional
 * whatever AWS_STS_REGIONAL_ENDPOINTS says. Dual-stack needs a partition suffix the sidecar does not carry,
 * so AWS_USE_DUALSTACK_ENDPOINT=true is refused by name rather than ignored. Pure.
 */
export function assumeRoleEndpoint(region: string, env: Env): URL {
  const fips = envBoolean(env, 'AWS_USE_FIPS_ENDPOINT');
  const dualStack = envBoolean(env, 'AWS_USE_DUALSTACK_ENDPOINT');
  const configured = envBoolean(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS')
    ? undefined
    : (['AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL'] as const).find((n) => (env[n] ?? '') !== '');
  if (configured !== undefined) {
    if (fips)
      throw new StsEndpointError(
        `AWS_USE_FIPS_ENDPOINT=true cannot be combined with ${configured} (as in the AWS SDK)`,
      );
    if (dualStack)
      throw new StsEndpointError(
        `AWS_USE_DUALSTACK_ENDPOINT=true cannot be combined with ${configured} (as in the AWS SDK)`,
      );
    try {
      return new URL(env[configured] as string);
    } catch {
      throw new StsEndpointError(`${configured} is not a URL`);
    }
  }
  if (dualStack)
    throw new StsEndpointError(
      'AWS_USE_DUALSTACK_ENDPOINT=true is not supported by the sidecar; set AWS_ENDPOINT_URL_STS to the dual-stack STS endpoint',
    );
  const suffix = dnsSuffix(region);
  if (fips && partitionOf(region)?.id !== 'aws-us-gov') return new URL(`https://sts-fips.${region}.${suffix}/`);
  return new URL(`https://sts.${region}.${suffix}/`);
}

/** The form body of the call (query protocol). Pure. */
export function assumeRoleBody(roleArn: string, sessionName: string, token: string): string {
  return new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: roleArn,
    RoleSessionName: sessionName,
    WebIdentityToken: token,
  }).toString();
}

export interface WebIdentityCall {
  endpoint: URL;
  roleArn: string;
  sessionName: string;
  tokenFile: string;
}

export interface CallDeps {
  send?: HttpSend;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** As the SDK's standard retry mode: three attempts in all. */
export const MAX_ATTEMPTS = 3;
/**
 * Per attempt. STS may fetch the cluster's OIDC discovery document and keys before it answers (a cold
 * issuer takes seconds; STS gives up on it itself with IDPCommunicationError, which is retried), so 10 s, not
 * the agent's 5 s; three attempts stay well inside the 5-minute refresh window.
 */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** STS's answer is 1-3 KB (the session token is the bulk). */
export const MAX_ANSWER_BYTES = 64 * 1024;

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function assumeRoleWithWebIdentity(call: WebIdentityCall, deps: CallDeps = {}): Promise<AwsCredentials> {
  const send = deps.send ?? defaultSend;
  const sleep = deps.sleep ?? sleepMs;
  const random = deps.random ?? Math.random;
  // a JWT has no whitespace: a trailing newline from a hand-written file would only make STS refuse it
  const token = (await readFile(call.tokenFile, 'utf8')).trim();
  const body = assumeRoleBody(call.roleArn, call.sessionName, token);
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await send(call.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        timeoutMs: ATTEMPT_TIMEOUT_MS,
        maxBytes: MAX_ANSWER_BYTES,
      });
      // before parsing: the parser clips a long message, and a clipped echo of the token would not match it whole
      return parseAssumeRoleWithWebIdentity(answer.status, redact(answer.body, token, 'web identity token'));
    } catch (e) {
      const failed = e as FailedCall;
      // STS echoes nothing secret, but no error may ever carry the token, whoever wrote the message
      if (attempt >= MAX_ATTEMPTS || !isRetryable(failed)) throw scrubbed(e, token, 'web identity token');
      await sleep(retryDelayMs(attempt, failed, random()));
    }
  }
}
