/**
 * manifests/examples, manifests/aws, manifests/vault: objects validate, annotations pass the webhook's own
 * parser, IAM documents parse, scripts are valid shell and do what they say in dry-run mode.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { loadWebhookConfig } from '../../../webhook/config.js';
import { planFromAnnotations } from '../../../webhook/annotations.js';
import { ROOT, at, findKind, isObj, loadDocs, read, walk, type Obj } from './ship-helpers.js';

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

const webhookDefaults = loadWebhookConfig({
  VAULT_IRSA_WEBHOOK_VAULT_ADDR: 'https://vault.vault.svc:8200',
  VAULT_IRSA_WEBHOOK_IAM_SERVER_ID: 'vault.example.com',
});

const ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[A-Za-z0-9+=,.@_/-]+$/;

describe('manifests/examples', () => {
  const sa = findKind(loadDocs('manifests/examples/serviceaccount.yaml'), 'ServiceAccount');
  const deployment = findKind(loadDocs('manifests/examples/deployment.yaml'), 'Deployment');
  const job = findKind(loadDocs('manifests/examples/job.yaml'), 'Job');

  test('objects validate against the Kubernetes schema', () => {
    expect(() => new ServiceAccount(sa as never).validate()).not.toThrow();
    expect(() => new Deployment(deployment as never).validate()).not.toThrow();
    expect(() => new Job(job as never).validate()).not.toThrow();
  });

  test('the ServiceAccount carries an IRSA role ARN', () => {
    expect(at(sa, 'metadata.annotations') as Obj).toHaveProperty(['eks.amazonaws.com/role-arn']);
    expect(String((at(sa, 'metadata.annotations') as Obj)['eks.amazonaws.com/role-arn'])).toMatch(ARN);
  });

  test.each([
    ['Deployment', deployment],
    ['Job', job],
  ])('%s pod template: the webhook injects it, with the declared secrets', (_kind, obj) => {
    const annotations = at(obj, 'spec.template.metadata.annotations') as Obj;
    expect(annotations['vault-irsa.io/role']).toEqual(expect.any(String));
    const result = planFromAnnotations(annotations, webhookDefaults);
    expect(result.action).toBe('inject');
    if (result.action !== 'inject') return;
    const declared = Object.entries(annotations).filter(([k]) => k.startsWith('vault-irsa.io/secret-'));
    expect(declared.length).toBeGreaterThan(0);
    for (const [k, path] of declared) {
      const name = k.slice('vault-irsa.io/secret-'.length);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
      expect(result.plan.secrets).toHaveProperty([name], path);
    }
    expect(at(obj, 'spec.template.spec.serviceAccountName')).toBe(at(sa, 'metadata.name'));
    expect(at(obj, 'metadata.namespace')).toBe(at(sa, 'metadata.namespace'));
  });

  test('the parser used above rejects a bad annotation (so the check can fail)', () => {
    const annotations = {
      ...(at(deployment, 'spec.template.metadata.annotations') as Obj),
      'vault-irsa.io/sidecar-mode': 'sometimes',
    };
    expect(planFromAnnotations(annotations, webhookDefaults).action).toBe('deny');
  });

  test('the Job uses native mode, which lets a Job complete', () => {
    const annotations = at(job, 'spec.template.metadata.annotations') as Obj;
    const result = planFromAnnotations(annotations, webhookDefaults);
    expect(result.action === 'inject' && result.plan.mode).toBe('native');
  });

  test('the app containers read secrets with the injected env and token file, never printing a value', () => {
    for (const obj of [deployment, job]) {
      const script = JSON.stringify(at(obj, 'spec.template.spec.containers'));
      expect(script).toContain('$VAULT_IRSA_ADDR/v1/secrets/db/');
      expect(script).toContain('$VAULT_IRSA_TOKEN_FILE');
      expect(script).toContain('Authorization: Bearer');
      expect(script).not.toMatch(/echo[^"]*"[^"]*\$\{?(password|user)\}?[^#]/);
    }
  });

  test('read-secret.sh is valid sh', () => {
    expect(spawnSync('sh', ['-n', join(ROOT, 'manifests/examples/read-secret.sh')]).status).toBe(0);
  });

  describe('read-secret.sh against a stand-in sidecar', () => {
    const hasCurl = onPath('curl');
    if (!hasCurl) console.log('skipped: curl not on PATH (read-secret.sh run)');
    const maybe = hasCurl ? test : test.skip;
    let server: Server | undefined;
    let dir = '';
    const seen: Array<{ url: string; auth: string | undefined }> = [];

    beforeAll(async () => {
      if (!hasCurl) return;
      dir = mkdtempSync(join(tmpdir(), 'vault-irsa-read-secret-'));
      writeFileSync(join(dir, 'token'), 'request-token-123\n');
      server = createServer((req: IncomingMessage, res) => {
        seen.push({ url: req.url ?? '', auth: req.headers.authorization });
        if (req.headers.authorization !== 'Bearer request-token-123') {
          res
            .writeHead(403, { 'content-type': 'application/json' })
            .end('{"error":{"code":"forbidden","message":"bad token"}}');
        } else if (req.url === '/v1/secrets/db/password') {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('s3cret');
        } else {
          res
            .writeHead(404, { 'content-type': 'application/json' })
            .end('{"error":{"code":"secret_not_declared","message":"no"}}');
        }
      });
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    // Asynchronous: the stand-in server runs in this process, so a synchronous spawn would block it.
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const addr = server?.address();
        const port = isObj(addr) ? Number(addr.port) : 0;
        const child = spawn('sh', [join(ROOT, 'manifests/examples/read-secret.sh'), ...args], {
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            VAULT_IRSA_ADDR: `http://127.0.0.1:${port}`,
            VAULT_IRSA_TOKEN_FILE: join(dir, 'token'),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
      });

    maybe('prints the value, sending the token from the file as a bearer header', async () => {
      const r = await run(['db', 'password']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('s3cret');
      expect(seen.at(-1)).toEqual({ url: '/v1/secrets/db/password', auth: 'Bearer request-token-123' });
    });

    maybe('exits non-zero on an error answer', async () => {
      const r = await run(['nope']);
      expect(r.status).not.toBe(0);
      expect(r.stdout).toBe('');
    });

    maybe('names the missing variable when the pod was not injected', () => {
      const r = spawnSync('sh', [join(ROOT, 'manifests/examples/read-secret.sh'), 'db'], {
        env: { PATH: process.env.PATH ?? '' },
        encoding: 'utf8',
      });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/VAULT_IRSA_ADDR/);
    });
  });
});

describe('manifests/aws', () => {
  const jsonFiles = walk('manifests/aws').filter((f) => /\.json(\.tmpl)?$/.test(f));

  test.each(jsonFiles)('%s parses as an IAM policy document', (f) => {
    const doc = JSON.parse(read(f)) as Obj;
    expect(doc.Version).toBe('2012-10-17');
    expect(Array.isArray(doc.Statement)).toBe(true);
    for (const s of doc.Statement as Obj[]) {
      expect(s.Effect).toBe('Allow');
      expect(s.Action).toBeDefined();
    }
  });

  test('the trust policy admits exactly one ServiceAccount through the OIDC provider, with the STS audience', () => {
    const text = read('manifests/aws/irsa-trust-policy.json.tmpl');
    expect(new Set(text.match(/\$\{[A-Z_]+\}/g))).toEqual(
      new Set(['${ACCOUNT_ID}', '${OIDC_PROVIDER}', '${NAMESPACE}', '${SERVICE_ACCOUNT}']),
    );
    const doc = JSON.parse(text) as { Statement: Obj[] };
    const [s] = doc.Statement;
    expect(doc.Statement).toHaveLength(1);
    expect(s?.Action).toBe('sts:AssumeRoleWithWebIdentity');
    expect(at(s, 'Principal.Federated')).toBe('arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${OIDC_PROVIDER}');
    expect(at(s, 'Condition.StringEquals')).toEqual({
      '${OIDC_PROVIDER}:aud': 'sts.amazonaws.com',
      '${OIDC_PROVIDER}:sub': 'system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}',
    });
  });

  test("Vault's own policy grants the IAM lookups the iam auth type uses, and no write", () => {
    const doc = JSON.parse(read('manifests/aws/vault-server-iam-policy.json')) as { Statement: Obj[] };
    const actions = doc.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[]);
    expect(actions).toEqual(expect.arrayContaining(['iam:GetRole', 'iam:GetUser']));
    for (const a of actions) expect(a).toMatch(/^(iam|sts):(Get|List|AssumeRole$)/);
  });

  test('create-irsa-role.sh is valid bash with strict mode', () => {
    expect(spawnSync('bash', ['-n', join(ROOT, 'manifests/aws/create-irsa-role.sh')]).status).toBe(0);
    expect(read('manifests/aws/create-irsa-role.sh')).toContain('set -euo pipefail');
  });

  const hasEnvsubst = onPath('envsubst');
  if (!hasEnvsubst) console.log('skipped: envsubst not on PATH (create-irsa-role.sh dry run)');
  (hasEnvsubst ? test : test.skip)(
    'create-irsa-role.sh DRY_RUN renders a valid trust policy and echoes the aws call',
    () => {
      const r = spawnSync('bash', [join(ROOT, 'manifests/aws/create-irsa-role.sh')], {
        env: {
          PATH: process.env.PATH ?? '',
          DRY_RUN: '1',
          NAMESPACE: 'demo',
          SERVICE_ACCOUNT: 'app',
          ACCOUNT_ID: '111122223333',
          OIDC_PROVIDER: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123',
        },
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      const json = r.stderr.slice(r.stderr.indexOf('{'), r.stderr.lastIndexOf('}') + 1);
      const doc = JSON.parse(json) as { Statement: Obj[] };
      expect(at(doc.Statement[0], 'Principal.Federated')).toBe(
        'arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123',
      );
      expect(at(doc.Statement[0], 'Condition.StringEquals')).toEqual({
        'oidc.eks.eu-west-1.amazonaws.com/id/ABC123:aud': 'sts.amazonaws.com',
        'oidc.eks.eu-west-1.amazonaws.com/id/ABC123:sub': 'system:serviceaccount:demo:app',
      });
      expect(r.stderr).toMatch(/^\+ aws iam create-role --role-name vault-irsa-demo-app /m);
      expect(r.stdout).toContain('role: arn:aws:iam::111122223333:role/vault-irsa-demo-app');
    },
  );

  test('create-irsa-role.sh names what is missing', () => {
    const r = spawnSync('bash', [join(ROOT, 'manifests/aws/create-irsa-role.sh')], {
      env: { PATH: process.env.PATH ?? '', DRY_RUN: '1' },
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/NAMESPACE is required|envsubst not found/);
  });
});

describe('manifests/vault/configure-vault.sh', () => {
  const script = join(ROOT, 'manifests/vault/configure-vault.sh');
  const dry = (env: Record<string, string>) =>
    spawnSync('bash', [script], { env: { PATH: process.env.PATH ?? '', DRY_RUN: '1', ...env }, encoding: 'utf8' });

  test('is valid bash with strict mode', () => {
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
    expect(read('manifests/vault/configure-vault.sh')).toContain('set -euo pipefail');
  });

  test('DRY_RUN echoes each step: aws auth, client config with server ID and STS endpoint, KV v2, policy, iam role', () => {
    const r = dry({
      IAM_ROLE_ARN: 'arn:aws:iam::111122223333:role/vault-irsa-demo-app',
      IAM_SERVER_ID: 'vault.example.com',
      STS_REGION: 'eu-west-1',
    });
    expect(r.status).toBe(0);
    const cmds = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('+ '))
      .join('\n');
    expect(cmds).toContain('+ vault auth enable -path=aws aws');
    expect(cmds).toContain(
      '+ vault write auth/aws/config/client sts_endpoint=https://sts.eu-west-1.amazonaws.com sts_region=eu-west-1 iam_server_id_header_value=vault.example.com',
    );
    expect(cmds).toContain('+ vault secrets enable -path=secret -version=2 kv');
    expect(cmds).toContain('+ vault policy write vault-irsa-app -');
    expect(cmds).toContain(
      '+ vault write auth/aws/role/app auth_type=iam bound_iam_principal_arn=arn:aws:iam::111122223333:role/vault-irsa-demo-app token_policies=vault-irsa-app',
    );
    expect(r.stderr).toContain('path "secret/data/my-app*"');
  });

  test('us-east-1 forwards logins to the global STS endpoint, as the sidecar signs them', () => {
    const r = dry({ IAM_ROLE_ARN: 'arn:aws:iam::111122223333:role/app' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('sts_endpoint=https://sts.amazonaws.com sts_region=us-east-1');
  });

  test.each([
    [{}, /IAM_ROLE_ARN is required/],
    [{ IAM_ROLE_ARN: 'arn:aws:iam::111122223333:role/team/app' }, /without a path/],
    [{ IAM_ROLE_ARN: 'arn:aws:iam::111122223333:role/app', STS_REGION: 'moon' }, /STS_REGION/],
    [{ IAM_ROLE_ARN: 'arn:aws:iam::111122223333:role/app', SECRET_PATH: '../sys' }, /SECRET_PATH/],
  ])('rejects %j with a message naming the problem', (env, message) => {
    const r = dry(env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

test('every shell script under manifests/ is executable and passes bash -n', () => {
  const scripts = walk('manifests').filter((f) => f.endsWith('.sh'));
  expect(scripts.length).toBeGreaterThanOrEqual(3);
  for (const s of scripts) {
    expect(() => execFileSync('bash', ['-n', join(ROOT, s)])).not.toThrow();
    const mode = spawnSync('test', ['-x', join(ROOT, s)]).status;
    expect([s, mode]).toEqual([s, 0]);
  }
});
