import { CredentialsError, VaultIrsaError } from './errors.js';

/**
 * Why a Vault login failed, as a code for the pod-IP /readyz, which shows no message: Vault's and STS's
 * answers name the role, the IAM principal's ARN (account, session name) and paths. Derived from the
 * error's class and code, never from its text.
 */
export type LoginErrorCode = 'aws_credentials_failed' | 'vault_unreachable' | 'vault_login_failed' | 'login_failed';

export function loginErrorCode(e: unknown): LoginErrorCode {
  if (e instanceof CredentialsError) return 'aws_credentials_failed';
  if (e instanceof VaultIrsaError) {
    if (e.code === 'vault_unreachable') return 'vault_unreachable';
    if (e.code === 'vault_http') return 'vault_login_failed';
  }
  return 'login_failed';
}
