/** The TLS mode settings of the webhook's environment. */
import { ConfigError, loadWebhookConfig } from '../../../webhook/config.js';

const base = { VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200' };

function variableOf(env: Record<string, string>): string {
  try {
    loadWebhookConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return `${err.variable}: ${err.message}`;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

test('files is the default; auto has its defaults', () => {
  expect(loadWebhookConfig(base).tlsMode).toBe('files');
  expect(loadWebhookConfig(base).tlsAuto).toBeUndefined();
  const c = loadWebhookConfig({ ...base, VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto' });
  expect(c.tlsAuto).toEqual({
    secretName: 'vault-irsa-tls',
    serviceName: 'vault-irsa',
    webhookConfigurationName: 'vault-irsa',
    validityMs: 8760 * 3_600_000,
    renewBeforeMs: 720 * 3_600_000,
    overlapMs: 600_000,
    intervalMs: 30_000,
  });
  expect(
    loadWebhookConfig({ ...base, VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto', VAULT_IRSA_WEBHOOK_NAMESPACE: 'platform' })
      .tlsAuto?.namespace,
  ).toBe('platform');
});

test.each([
  [{ VAULT_IRSA_WEBHOOK_TLS_MODE: 'letsencrypt' }, /^VAULT_IRSA_WEBHOOK_TLS_MODE: .*must be files or auto/],
  [
    { VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto', VAULT_IRSA_WEBHOOK_TLS_SECRET: 'Bad_Name' },
    /^VAULT_IRSA_WEBHOOK_TLS_SECRET: .*not a Kubernetes object name/,
  ],
  [{ VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto', VAULT_IRSA_WEBHOOK_NAMESPACE: 'a/b' }, /^VAULT_IRSA_WEBHOOK_NAMESPACE: /],
  [
    { VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto', VAULT_IRSA_WEBHOOK_TLS_VALIDITY: '1y' },
    /^VAULT_IRSA_WEBHOOK_TLS_VALIDITY: .*not a duration/,
  ],
  [
    {
      VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
      VAULT_IRSA_WEBHOOK_TLS_VALIDITY: '24h',
      VAULT_IRSA_WEBHOOK_TLS_RENEW_BEFORE: '24h',
    },
    /^VAULT_IRSA_WEBHOOK_TLS_RENEW_BEFORE: .*shorter than/,
  ],
  [
    {
      VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
      VAULT_IRSA_WEBHOOK_TLS_RENEW_BEFORE: '1h',
      VAULT_IRSA_WEBHOOK_TLS_OVERLAP: '30m',
    },
    /^VAULT_IRSA_WEBHOOK_TLS_OVERLAP: .*half of/,
  ],
  [
    {
      VAULT_IRSA_WEBHOOK_TLS_MODE: 'auto',
      VAULT_IRSA_WEBHOOK_TLS_OVERLAP: '1m',
      VAULT_IRSA_WEBHOOK_TLS_AUTO_INTERVAL: '30s',
    },
    /^VAULT_IRSA_WEBHOOK_TLS_AUTO_INTERVAL: .*third of/,
  ],
])('%j is refused, naming the variable', (env, message) => {
  expect(variableOf(env)).toMatch(message);
});
