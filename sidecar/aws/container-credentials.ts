/**
 * EKS Pod Identity: the container credentials endpoint (the node's Pod Identity agent), as the AWS SDK's
 * fromHttp did it: GET AWS_CONTAINER_CREDENTIALS_FULL_URI with the pod's authorization token, a JSON answer
 * { AccessKeyId, SecretAccessKey, Token, Expiration }. The SDK's host rules are kept: the token goes only to
 * HTTPS, loopback or the ECS/EKS link-local agent addresses.
 */
import { readFile } from '../fs-async.js';
import { VaultIrsaError } from '../errors.js';
import type { AwsCredentials } from '../iam-login.js';
import { send as defaultSend, type HttpSend } from './http-call.js';
import { redact, scrubbed } from './scrub.js';
import { parseDateTime } from './sts-xml.js';

/** A refused URL or token, or an answer that is not credentials; the message never holds the token. */
export class ContainerCredentialsError extends VaultIrsaError {
  override readonly name = 'ContainerCredentialsError';
  /** what the SDK called these, which the sidecar's error message keeps */
  readonly awsCode = 'CredentialsProviderError';
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super('container_credentials_failed', message);
    this.status = status;
  }
}

const ECS_HOST = '169.254.170.2';
const EKS_HOST_V4 = '169.254.170.23';
const EKS_HOST_V6 = '[fd00:ec2::23]';

/** Why the SDK would refuse to send the token to this URL, or null. Pure. */
export function containerUrlProblem(url: URL): string | null {
  if (url.protocol === 'https:') return null;
  if (url.protocol !== 'http:') return `the URL must be http: or https:, not ${url.protocol}`;
  const host = url.hostname;
  if (host === ECS_HOST || host === EKS_HOST_V4 || host === EKS_HOST_V6) return null;
  if (host === '[::1]' || host === 'localhost') return null;
  // WHATWG URL parsing has already normalised an IPv4 host to four decimal parts
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return null;
  return (
    'URL not accepted: it must be HTTPS or one of loopback 127.0.0.0/8 or [::1], ' +
    `the ECS container host ${ECS_HOST}, the EKS Pod Identity agent ${EKS_HOST_V4} or ${EKS_HOST_V6}`
  );
}

/** The Authorization header value; a token with a line break could smuggle headers, so it is refused. Pure. */
export function authorizationHeader(token: string): string {
  if (/[\r\n]/.test(token)) throw new ContainerCredentialsError('the authorization token contains a line break');
  return token;
}

const REQUIRED = 'an object with AccessKeyId, SecretAccessKey, Token (strings) and Expiration (an RFC 3339 date-time)';

/** The agent's answer → credentials, validated as the SDK did. `secret` is redacted from any message. Pure. */
export function parseContainerAnswer(status: number, body: string, secret?: string): AwsCredentials {
  if (status !== 200) {
    let said = '';
    if (status >= 400 && status < 500) {
      try {
        const o = JSON.parse(body) as Record<string, unknown>;
        const m = o.Message ?? o.message;
        if (typeof m === 'string')
          said = `: ${redact(m.split('\n')[0] ?? '', secret, 'authorization token').slice(0, 200)}`;
      } catch {
        // no JSON: the status says enough
      }
    }
    throw new ContainerCredentialsError(`Server responded with status: ${status}${said}`, status);
  }
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch {
    throw new ContainerCredentialsError(`the answer is not JSON; expected ${REQUIRED}`, status);
  }
  const r = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
  const { AccessKeyId, SecretAccessKey, Token, Expiration } = r;
  if (
    typeof AccessKeyId !== 'string' ||
    typeof SecretAccessKey !== 'string' ||
    typeof Token !== 'string' ||
    typeof Expiration !== 'string'
  )
    throw new ContainerCredentialsError(`the answer is not of the required format, ${REQUIRED}`, status);
  const expiration = parseDateTime(Expiration);
  if (expiration === undefined)
    throw new ContainerCredentialsError(
      `the answer's Expiration is not an RFC 3339 date-time; expected ${REQUIRED}`,
      status,
    );
  return { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: Token, expiration };
}

export interface ContainerCall {
  fullUri: string;
  /** read on every call (the agent's token is rotated); wins over `token`, as in the SDK */
  tokenFile?: string;
  token?: string;
}

export interface ContainerDeps {
  send?: HttpSend;
  sleep?: (ms: number) => Promise<void>;
}

/** As the sidecar configured the SDK: 5 s per attempt, 2 retries, the SDK's wait (its timeout) in between. */
export const ATTEMPT_TIMEOUT_MS = 5_000;
export const MAX_RETRIES = 2;
export const RETRY_DELAY_MS = 5_000;
const MAX_ANSWER_BYTES = 64 * 1024;

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function fetchContainerCredentials(
  call: ContainerCall,
  deps: ContainerDeps = {},
): Promise<AwsCredentials> {
  const send = deps.send ?? defaultSend;
  const sleep = deps.sleep ?? sleepMs;
  let url: URL;
  try {
    url = new URL(call.fullUri);
  } catch {
    throw new ContainerCredentialsError('AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL');
  }
  const problem = containerUrlProblem(url);
  if (problem !== null) throw new ContainerCredentialsError(problem);
  // the SDK retried every failure alike (a 403 as much as a refused connection); so does this
  for (let attempt = 0; ; attempt++) {
    let secret: string | undefined;
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (call.tokenFile !== undefined) secret = await readFile(call.tokenFile, 'utf8');
      else if (call.token !== undefined) secret = call.token;
      if (secret !== undefined) headers.authorization = authorizationHeader(secret);
      const answer = await send(url, {
        method: 'GET',
        headers,
        timeoutMs: ATTEMPT_TIMEOUT_MS,
        maxBytes: MAX_ANSWER_BYTES,
      });
      return parseContainerAnswer(answer.status, answer.body, secret);
    } catch (e) {
      if (attempt >= MAX_RETRIES) throw scrubbed(e, secret, 'authorization token');
      await sleep(RETRY_DELAY_MS);
    }
  }
}
