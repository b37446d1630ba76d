import { readFileSync } from 'node:fs';
import { ConfigError, loadWebhookConfig } from '../../../webhook/config.js';
import { DEFAULT_SIDECAR_IMAGE, VERSION } from '../../../sidecar/version.js';

const base = { VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.example.com:8200/' };

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadWebhookConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

test('defaults follow docs/configuration.md', () => {
  const c = loadWebhookConfig(base);
  expect(c.port).toBe(8443);
  expect(c.tlsCertFile).toBe('/etc/vault-irsa/tls/tls.crt');
  expect(c.tlsKeyFile).toBe('/etc/vault-irsa/tls/tls.key');
  expect(c.vaultAddr).toBe('https://vault.example.com:8200');
  expect(c.allowedVaultAddrs).toEqual(['https://vault.example.com:8200']);
  expect(c.stsRegion).toBe('us-east-1');
  expect(c.sidecarMode).toBe('native');
  expect(c.kubernetes).toBe('auto');
  expect(c.iamServerId).toBeUndefined();
  expect(c.sidecarImage).toBe(DEFAULT_SIDECAR_IMAGE);
  expect(c.resources).toEqual({ cpuRequest: '10m', memoryRequest: '64Mi', memoryLimit: '128Mi' });
});

test('the default image tag is the package version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  expect(VERSION).toBe(pkg.version);
  expect(DEFAULT_SIDECAR_IMAGE).toBe(`ghcr.io/vault-irsa/sidecar:${pkg.version}`);
});

test('missing VAULT_ADDR names the variable', () => {
  const e = errorOf({});
  expect(e.variable).toBe('VAULT_IRSA_WEBHOOK_VAULT_ADDR');
  expect(e.message).toMatch(/^VAULT_IRSA_WEBHOOK_VAULT_ADDR is required/);
  expect(e.code).toBe('invalid_config');
});

test.each([
  ['VAULT_IRSA_WEBHOOK_PORT', 'https'],
  ['VAULT_IRSA_WEBHOOK_VAULT_ADDR', 'vault:8200'],
  ['VAULT_IRSA_WEBHOOK_ALLOWED_VAULT_ADDRS', 'https://a.example.com,ftp://b'],
  ['VAULT_IRSA_WEBHOOK_STS_REGION', 'mars'],
  ['VAULT_IRSA_WEBHOOK_SIDECAR_MODE', 'sometimes'],
  ['VAULT_IRSA_WEBHOOK_KUBERNETES', 'on'],
  ['VAULT_IRSA_WEBHOOK_SIDECAR_MEMORY_LIMIT', 'big'],
  ['VAULT_IRSA_WEBHOOK_SIDECAR_CPU_REQUEST', '2'],
  ['VAULT_IRSA_WEBHOOK_IAM_SERVER_ID', ' spaced '],
  ['VAULT_IRSA_WEBHOOK_VAULT_CACERT_CONFIGMAP', 'Bad_Name'],
  ['VAULT_IRSA_WEBHOOK_LOG_LEVEL', 'loud'],
  ['VAULT_IRSA_WEBHOOK_TLS_POLL_INTERVAL', 'soon'],
])('%s=%j is rejected naming the variable', (name, value) => {
  const env: Record<string, string> = { ...base, [name]: value };
  if (name === 'VAULT_IRSA_WEBHOOK_SIDECAR_CPU_REQUEST') env.VAULT_IRSA_WEBHOOK_SIDECAR_CPU_LIMIT = '1';
  if (name === 'VAULT_IRSA_WEBHOOK_IAM_SERVER_ID') env[name] = 'a\u0001b';
  expect(errorOf(env).variable).toBe(name);
});

test('allow-list is normalised and always holds the default', () => {
  const c = loadWebhookConfig({
    ...base,
    VAULT_IRSA_WEBHOOK_ALLOWED_VAULT_ADDRS: ' https://B.example.com/ , http://10.0.0.1:8200',
  });
  expect(c.allowedVaultAddrs).toEqual([
    'https://vault.example.com:8200',
    'https://b.example.com',
    'http://10.0.0.1:8200',
  ]);
});

test('extras: CA ConfigMap, AWS region, STS endpoint, resources "none"', () => {
  const c = loadWebhookConfig({
    ...base,
    VAULT_IRSA_WEBHOOK_VAULT_CACERT_CONFIGMAP: 'vault-ca:bundle.pem',
    VAULT_IRSA_WEBHOOK_AWS_REGION: 'eu-west-1',
    VAULT_IRSA_WEBHOOK_AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:4566',
    VAULT_IRSA_WEBHOOK_SIDECAR_MEMORY_LIMIT: 'none',
    VAULT_IRSA_WEBHOOK_KUBERNETES: 'off',
  });
  expect(c.vaultCaConfigMap).toEqual({ name: 'vault-ca', key: 'bundle.pem' });
  expect(c.awsRegion).toBe('eu-west-1');
  expect(c.stsEndpointUrl).toBe('http://127.0.0.1:4566');
  expect(c.resources.memoryLimit).toBeUndefined();
  expect(c.kubernetes).toBe('off');
});

test('VAULT_IRSA_WEBHOOK_MAX_CONNECTIONS: default 512, a positive count, named when wrong', () => {
  expect(loadWebhookConfig(base).maxConnections).toBe(512);
  expect(loadWebhookConfig({ ...base, VAULT_IRSA_WEBHOOK_MAX_CONNECTIONS: '64' }).maxConnections).toBe(64);
  for (const bad of ['0', '-1', 'many', '1000001']) {
    expect(errorOf({ ...base, VAULT_IRSA_WEBHOOK_MAX_CONNECTIONS: bad }).variable).toBe(
      'VAULT_IRSA_WEBHOOK_MAX_CONNECTIONS',
    );
  }
});
