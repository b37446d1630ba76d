import { parseConfig, parseListen, validateSecretPath } from '../../../sidecar/config.js';
import { parseDuration } from '../../../sidecar/duration.js';
import { ConfigError } from '../../../sidecar/errors.js';

const base = {
  VAULT_ADDR: 'https://vault.example.com:8200/',
  VAULT_IRSA_ROLE: 'app',
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/app',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
};

function errorFor(env: Record<string, string | undefined>): ConfigError {
  try {
    parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('applies the documented defaults (docs/configuration.md)', () => {
    const c = parseConfig(base);
    expect(c).toMatchObject({
      vaultAddr: 'https://vault.example.com:8200',
      role: 'app',
      authMount: 'aws',
      stsRegion: 'us-east-1',
      secrets: [],
      listen: { host: '127.0.0.1', port: 8765 },
      healthListen: { host: '0.0.0.0', port: 8766 },
      tokenFile: '/var/run/vault-irsa/token',
      refreshMs: 300_000,
      logLevel: 'info',
      awsRegion: 'us-east-1',
      aws: { kind: 'web-identity', roleArn: base.AWS_ROLE_ARN, tokenFile: base.AWS_WEB_IDENTITY_TOKEN_FILE },
    });
    expect(c.iamServerId).toBeUndefined();
    expect(c.vaultNamespace).toBeUndefined();
  });

  it('reads every variable', () => {
    const c = parseConfig({
      ...base,
      VAULT_NAMESPACE: 'team-a',
      VAULT_CACERT: '/etc/ca.pem',
      VAULT_IRSA_AUTH_MOUNT: '/aws-eks/',
      VAULT_IRSA_IAM_SERVER_ID: 'vault.example.com',
      VAULT_IRSA_STS_REGION: 'eu-west-1',
      VAULT_IRSA_SECRETS: '{"db":"database/creds/app","cfg":"secret/my-app"}',
      VAULT_IRSA_LISTEN: '127.0.0.1:0',
      VAULT_IRSA_HEALTH_LISTEN: '[::]:9000',
      VAULT_IRSA_TOKEN_FILE: '/tmp/x/token',
      VAULT_IRSA_REFRESH: '1h30m',
      VAULT_IRSA_LOG_LEVEL: 'DEBUG',
      AWS_REGION: 'eu-central-1',
    });
    expect(c).toMatchObject({
      vaultNamespace: 'team-a',
      vaultCaCert: '/etc/ca.pem',
      authMount: 'aws-eks',
      iamServerId: 'vault.example.com',
      stsRegion: 'eu-west-1',
      secrets: [
        { name: 'db', path: 'database/creds/app' },
        { name: 'cfg', path: 'secret/my-app' },
      ],
      listen: { host: '127.0.0.1', port: 0 },
      healthListen: { host: '::', port: 9000 },
      tokenFile: '/tmp/x/token',
      refreshMs: 5_400_000,
      logLevel: 'debug',
      awsRegion: 'eu-central-1',
    });
  });

  it('uses the STS region for the web-identity client when AWS_REGION is absent', () => {
    expect(parseConfig({ ...base, VAULT_IRSA_STS_REGION: 'ap-south-1' }).awsRegion).toBe('ap-south-1');
    expect(parseConfig({ ...base, AWS_DEFAULT_REGION: 'us-west-2' }).awsRegion).toBe('us-west-2');
  });

  it.each([
    [{ VAULT_ADDR: undefined }, 'VAULT_ADDR'],
    [{ VAULT_ADDR: 'vault:8200' }, 'VAULT_ADDR'],
    [{ VAULT_ADDR: 'ftp://vault' }, 'VAULT_ADDR'],
    [{ VAULT_IRSA_ROLE: undefined }, 'VAULT_IRSA_ROLE'],
    [{ VAULT_IRSA_ROLE: '  ' }, 'VAULT_IRSA_ROLE'],
    [{ VAULT_IRSA_ROLE: 'a/b' }, 'VAULT_IRSA_ROLE'],
    [{ VAULT_IRSA_AUTH_MOUNT: 'a/../b' }, 'VAULT_IRSA_AUTH_MOUNT'],
    [{ VAULT_IRSA_STS_REGION: 'mars' }, 'VAULT_IRSA_STS_REGION'],
    [{ VAULT_IRSA_SECRETS: '{' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_SECRETS: '["a"]' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_SECRETS: '{"Bad_Name":"secret/x"}' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_SECRETS: '{"db":""}' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_SECRETS: '{"db":"secret/../x"}' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_SECRETS: '{"db":7}' }, 'VAULT_IRSA_SECRETS'],
    [{ VAULT_IRSA_LISTEN: '8765' }, 'VAULT_IRSA_LISTEN'],
    [{ VAULT_IRSA_LISTEN: '127.0.0.1:70000' }, 'VAULT_IRSA_LISTEN'],
    [{ VAULT_IRSA_HEALTH_LISTEN: 'example.com:80' }, 'VAULT_IRSA_HEALTH_LISTEN'],
    [{ VAULT_IRSA_TOKEN_FILE: 'relative/token' }, 'VAULT_IRSA_TOKEN_FILE'],
    [{ VAULT_IRSA_REFRESH: 'soon' }, 'VAULT_IRSA_REFRESH'],
    [{ VAULT_IRSA_REFRESH: '10ms' }, 'VAULT_IRSA_REFRESH'],
    [{ VAULT_IRSA_LOG_LEVEL: 'loud' }, 'VAULT_IRSA_LOG_LEVEL'],
    [{ VAULT_IRSA_IAM_SERVER_ID: 'a\nb' }, 'VAULT_IRSA_IAM_SERVER_ID'],
    [{ AWS_ROLE_ARN: 'not-an-arn' }, 'AWS_ROLE_ARN'],
    [{ AWS_ROLE_ARN: undefined }, 'AWS_ROLE_ARN'],
    [{ AWS_WEB_IDENTITY_TOKEN_FILE: undefined }, 'AWS_WEB_IDENTITY_TOKEN_FILE'],
    [{ AWS_ENDPOINT_URL_STS: 'not a url' }, 'AWS_ENDPOINT_URL_STS'],
  ])('%j → error naming %s', (override, variable) => {
    const err = errorFor({ ...base, ...override });
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(variable);
    expect(err.code).toBe('config_invalid');
  });

  it('says which identity variables it looked for when there are none', () => {
    const err = errorFor({ VAULT_ADDR: base.VAULT_ADDR, VAULT_IRSA_ROLE: 'app' });
    for (const v of [
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    ]) {
      expect(err.message).toContain(v);
    }
  });

  it('picks EKS Pod Identity when there is no web identity', () => {
    const c = parseConfig({
      VAULT_ADDR: base.VAULT_ADDR,
      VAULT_IRSA_ROLE: 'app',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:
        '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
    });
    expect(c.aws).toEqual({
      kind: 'pod-identity',
      fullUri: 'http://169.254.170.23/v1/credentials',
      authorizationTokenFile: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
    });
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['90', 90_000],
    ['1.5s', 1500],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', 'm', '5x', '5 m', '-5s', 's5', '5m junk'])('rejects %j', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

describe('parseListen and validateSecretPath', () => {
  it('parses hosts, IPv6 and port 0', () => {
    expect(parseListen('X', '0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseListen('X', '[::1]:8765')).toEqual({ host: '::1', port: 8765 });
    expect(parseListen('X', ':8765')).toEqual({ host: '0.0.0.0', port: 8765 });
  });
  it('normalises slashes and refuses traversal', () => {
    expect(validateSecretPath('/secret/my-app/')).toBe('secret/my-app');
    expect(() => validateSecretPath('secret//x')).toThrow(/empty segment/);
    expect(() => validateSecretPath('..')).toThrow();
    expect(() => validateSecretPath('secret/x?version=1')).toThrow();
  });
});
