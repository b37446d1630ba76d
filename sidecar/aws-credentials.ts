import type { AwsIdentity } from './config.js';
import { CredentialsError } from './errors.js';
import type { AwsCredentials } from './iam-login.js';
import { fetchContainerCredentials } from './aws/container-credentials.js';
import { assumeRoleEndpoint, assumeRoleWithWebIdentity } from './aws/sts-web-identity.js';

export type CredentialProvider = () => Promise<AwsCredentials>;

/** Refresh this long before expiry, as the AWS SDK's own Node chain does. */
export const REFRESH_WINDOW_MS = 5 * 60_000;

/**
 * Wraps a provider so it is called once per credential lifetime: each call to STS or the agent returns new
 * credentials. Concurrent callers share one fetch; if a refresh fails while the old credentials are still valid,
 * those are used and the next call tries again.
 */
export function memoize(provider: CredentialProvider, now: () => number = Date.now): CredentialProvider {
  let cached: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;
  const fresh = (c: AwsCredentials | undefined): boolean =>
    c !== undefined && (c.expiration === undefined || c.expiration.getTime() - now() > REFRESH_WINDOW_MS);
  const valid = (c: AwsCredentials | undefined): c is AwsCredentials =>
    c !== undefined && (c.expiration === undefined || c.expiration.getTime() - now() > 30_000);
  return async () => {
    if (fresh(cached)) return cached as AwsCredentials;
    inflight ??= provider()
      .then((c) => {
        cached = c;
        return c;
      })
      .finally(() => {
        inflight = undefined;
      });
    try {
      return await inflight;
    } catch (e) {
      if (valid(cached)) return cached;
      throw e;
    }
  };
}

/** A session name STS accepts ([\w+=,.@-]{2,64}), from the pod name so CloudTrail says which pod logged in. */
export function sessionNameFor(hostname: string | undefined): string {
  const base = `vault-irsa-${(hostname ?? 'pod').replace(/[^\w+=,.@-]/g, '-')}`;
  return base.slice(0, 64);
}

/**
 * The sidecar's own chain: only the identity found in the env (web identity or Pod Identity), never IMDS,
 * never shared config files. Both calls are small modules on node:http(s) (sidecar/aws), not the AWS SDK:
 * its client stack cost every pod about 1.5 MB of private memory even unevaluated (scripts/bundle.mjs).
 */
export function createCredentialProvider(
  identity: AwsIdentity,
  region: string,
  env: NodeJS.ProcessEnv = process.env,
): CredentialProvider {
  const raw: CredentialProvider = async () => {
    try {
      if (identity.kind === 'web-identity') {
        return await assumeRoleWithWebIdentity({
          endpoint: assumeRoleEndpoint(region, env),
          roleArn: identity.roleArn,
          sessionName: identity.sessionName ?? sessionNameFor(env.HOSTNAME),
          tokenFile: identity.tokenFile,
        });
      }
      const token = env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
      return await fetchContainerCredentials({
        fullUri: identity.fullUri,
        ...(identity.authorizationTokenFile !== undefined
          ? { tokenFile: identity.authorizationTokenFile }
          : token
            ? { token }
            : {}),
      });
    } catch (e) {
      // the AWS error code where there is one (InvalidIdentityToken, TimeoutError, ...), as the SDK's errors were named
      const err = e as { name?: string; message?: string; awsCode?: string };
      const source =
        identity.kind === 'web-identity'
          ? `web identity (AWS_ROLE_ARN=${identity.roleArn}, AWS_WEB_IDENTITY_TOKEN_FILE=${identity.tokenFile})`
          : `EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI=${identity.fullUri})`;
      throw new CredentialsError(
        `could not get AWS credentials from ${source}: ${err.awsCode ?? err.name ?? 'Error'}: ${firstLine(err.message)}`,
      );
    }
  };
  return memoize(raw);
}

function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n')[0]?.slice(0, 300) ?? '';
}
