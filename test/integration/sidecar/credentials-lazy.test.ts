/**
 * The AWS SDK's credential providers are loaded on the first login that needs credentials, and only the one
 * the pod's identity uses: web identity never loads the container (Pod Identity) provider and vice versa,
 * and nothing loads the shared-config, SSO, process or IMDS providers. Observed in a child process on the
 * tsc build, with a preload that records every @aws-sdk / @smithy module the CommonJS loader is asked for.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MODULE = resolve(process.cwd(), 'dist/sidecar/aws-credentials.js');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-lazy-'));
  await writeFile(join(dir, 'token'), 'not-a-jwt');
  await writeFile(
    join(dir, 'trace.cjs'),
    `const Module = require('node:module');
const fs = require('node:fs');
const seen = new Set();
const load = Module._load;
Module._load = function (request) {
  if (/^@(aws-sdk|smithy)\\//.test(request) && !seen.has(request)) {
    seen.add(request);
    fs.appendFileSync(process.env.TRACE_FILE, request + '\\n');
  }
  return load.apply(this, arguments);
};
`,
  );
  await writeFile(
    join(dir, 'probe.mjs'),
    `import { appendFileSync } from 'node:fs';
const { createCredentialProvider } = await import(${JSON.stringify(MODULE)});
const identity = process.argv[2] === 'web'
  ? { kind: 'web-identity', roleArn: 'arn:aws:iam::123456789012:role/x', tokenFile: ${JSON.stringify(join(dir, 'token'))} }
  : { kind: 'pod-identity', fullUri: 'http://192.0.2.1/credentials' };
const provider = createCredentialProvider(identity, 'us-east-1', {});
appendFileSync(process.env.TRACE_FILE, '--- first call\\n');
await provider().catch(() => undefined);
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function trace(kind: 'web' | 'pod'): Promise<{ before: string[]; after: string[] }> {
  const file = join(dir, `trace-${kind}`);
  const r = spawnSync(process.execPath, ['--require', join(dir, 'trace.cjs'), join(dir, 'probe.mjs'), kind], {
    env: {
      PATH: process.env.PATH ?? '',
      TRACE_FILE: file,
      // both calls fail fast and locally: STS is an unreachable port, the agent URL one the SDK refuses to call
      AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    timeout: 30_000,
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  const mark = lines.indexOf('--- first call');
  return { before: lines.slice(0, mark), after: lines.slice(mark + 1) };
}

const OTHERS =
  /credential-provider-(ini|sso|process|node|env|cognito-identity|login)|credential-provider-imds|token-providers/;

describe('AWS SDK credential providers load lazily, only the one used', () => {
  it('web identity: nothing until the first call, then the web-identity provider and STS only', async () => {
    const { before, after } = await trace('web');
    expect(before).toEqual([]);
    expect(after).toContain('@aws-sdk/credential-provider-web-identity');
    expect(after).not.toContain('@aws-sdk/credential-provider-http');
    expect(after.filter((m) => OTHERS.test(m))).toEqual([]);
  });

  it('EKS Pod Identity: nothing until the first call, then the container provider only (no STS client)', async () => {
    const { before, after } = await trace('pod');
    expect(before).toEqual([]);
    expect(after).toContain('@aws-sdk/credential-provider-http');
    expect(after).not.toContain('@aws-sdk/credential-provider-web-identity');
    expect(after).not.toContain('@aws-sdk/nested-clients/sts');
    expect(after.filter((m) => OTHERS.test(m))).toEqual([]);
  });
});
