import { VaultIrsaError } from './contract/errors.js';

export { VaultIrsaError };

/** A missing or malformed variable; `variable` names it so the start-up line can say which. */
export class ConfigError extends VaultIrsaError {
  override readonly name = 'ConfigError';
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('config_invalid', `${variable}: ${message}`);
    this.variable = variable;
  }
}

/** No usable pod identity reached the sidecar (neither web identity nor Pod Identity env). */
export class CredentialsError extends VaultIrsaError {
  override readonly name = 'CredentialsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('aws_credentials', message, options);
  }
}

/**
 * A declared secret that can never be read as declared, whatever Vault says later (e.g. a path that names a
 * KV v2 mount itself): retrying cannot help, so it is not retried.
 */
export class SecretPathError extends VaultIrsaError {
  override readonly name = 'SecretPathError';
  constructor(message: string) {
    super('invalid_secret_path', message);
  }
}

/**
 * Vault's answer for a secret carries a Vault token the sidecar holds (e.g. a path that echoes the caller's
 * token): it is neither stored nor served. The message names the secret, never the token.
 */
export class SecretRefusedError extends VaultIrsaError {
  override readonly name = 'SecretRefusedError';
  constructor(message: string) {
    super('secret_refused', message);
  }
}

/**
 * The sidecar cannot start (bad configuration, an unwritable token file, a port in use). `code` is the event of
 * the one fatal log line, `variable` the setting to fix, `exitCode` what the process exits with (2: configuration,
 * 1: the environment). startSidecar throws it; only the entry point prints and exits.
 */
export class StartupError extends VaultIrsaError {
  override readonly name = 'StartupError';
  readonly variable: string;
  readonly exitCode: number;
  constructor(
    code: 'config_invalid' | 'token_file_failed' | 'listen_failed',
    variable: string,
    message: string,
    exitCode: 1 | 2,
  ) {
    super(code, message);
    this.variable = variable;
    this.exitCode = exitCode;
  }
}
