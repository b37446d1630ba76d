/**
 * Why the sidecar is not ready, from what the token manager and the store know. Pure.
 * `detail` (loopback only) adds the login's message, which names the Vault role, the IAM principal's ARN
 * and session name, AWS_ROLE_ARN or the token file path; without it (the pod IP) only a code is given.
 */
export function loginNotReadyReason(
  login: { loggedIn: boolean; lastError?: string | undefined; lastErrorCode?: string | undefined },
  detail: boolean,
): string | undefined {
  if (login.loggedIn) return undefined;
  const why = detail ? login.lastError : login.lastErrorCode;
  return `not logged in to Vault yet${why ? `: ${why}` : ''}`;
}
