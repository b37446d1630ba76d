/**
 * The AWS SDK variables the sidecar reads, checked as the sidecar's config parser checks them. The webhook
 * copies these from an app container that already carries IRSA or Pod Identity; it runs the same check on the
 * copy, so a pod whose app env the sidecar would refuse is denied at admission with the variable named,
 * instead of being admitted with a sidecar that exits at start. Pure.
 */
import { checkRegion, checkRoleArn } from './grammars.js';

export interface AwsEnvProblem {
  /** the variable at fault */
  name: string;
  /** a phrase to follow the quoted value, e.g. "is not an AWS region" */
  problem: string;
}

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

function isUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first problem with the AWS part of an env (only the variables present are looked at), or null.
 * `fallbackRegion` is the region used when neither AWS_REGION nor AWS_DEFAULT_REGION is set.
 */
export function checkAwsEnv(get: (name: string) => string | undefined, fallbackRegion?: string): AwsEnvProblem | null {
  const roleArn = get('AWS_ROLE_ARN');
  if (roleArn !== undefined) {
    const p = checkRoleArn(roleArn);
    if (p !== null) return { name: 'AWS_ROLE_ARN', problem: `${p}; path up to 512 characters, name up to 64` };
  }
  const sessionName = get('AWS_ROLE_SESSION_NAME');
  if (sessionName !== undefined && !SESSION_NAME.test(sessionName)) {
    return { name: 'AWS_ROLE_SESSION_NAME', problem: 'is not a valid session name (2-64 of [A-Za-z0-9_+=,.@-])' };
  }
  const fullUri = get('AWS_CONTAINER_CREDENTIALS_FULL_URI');
  if (fullUri !== undefined && !isUrl(fullUri))
    return { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', problem: 'is not a URL' };
  const regionName =
    get('AWS_REGION') !== undefined
      ? 'AWS_REGION'
      : get('AWS_DEFAULT_REGION') !== undefined
        ? 'AWS_DEFAULT_REGION'
        : undefined;
  const region = regionName !== undefined ? get(regionName) : fallbackRegion;
  if (region !== undefined && checkRegion(region) !== null)
    return { name: regionName ?? 'AWS_REGION', problem: 'is not an AWS region' };
  const stsUrl = get('AWS_ENDPOINT_URL_STS');
  if (stsUrl !== undefined && !isUrl(stsUrl)) return { name: 'AWS_ENDPOINT_URL_STS', problem: 'is not a URL' };
  return null;
}
