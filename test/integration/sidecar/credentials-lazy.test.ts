/**
 * The sidecar's credential path loads no AWS SDK module at all, before or after its first call, for either
 * identity: both calls are the sidecar's own (sidecar/aws), and nothing may bring back the SDK's credential
 * chain (shared config, SSO, process, IMDS). Observed in a child process on the tsc build, with preloads that
 * record every @aws-sdk / @smithy module the CommonJS loader or the ES module resolver is asked for.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MODULE = resolve(process.cwd(), 'dist/sidecar/aws-credentials.js');
/** the ES module side of the trace: every specifier resolved, on the loader's thread */
const ESM_HOOK = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (/^@(aws-sdk|smithy)\\//.test(specifier)) appendFileSync(process.env.TRACE_FILE, specifier + '\\n');
  return next(specifier, context);
}
`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-irsa-lazy-'));
  await writeFile(join(dir, 'token'), 'not-a-jwt');
  await writeFile(
    join(dir, 'trace.cjs'),
    `const Module = require('node:module');
Module.register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(ESM_HOOK))});
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
if (process.argv[2] === 'sdk') await import(${JSON.stringify(resolve(process.cwd(), 'dist/sidecar/iam-login.js'))});
const provider = createCredentialProvider(identity, 'us-east-1', process.env);
appendFileSync(process.env.TRACE_FILE, '--- first call\\n');
await provider().then(
  () => appendFileSync(process.env.TRACE_FILE, '--- got credentials\\n'),
  (e) => appendFileSync(process.env.TRACE_FILE, '--- ' + e.name + ': ' + e.message.split('\\n')[0] + '\\n'),
);
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function trace(kind: 'web' | 'pod' | 'sdk'): Promise<{ before: string[]; after: string[] }> {
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

describe('the credential path loads no AWS SDK module', () => {
  it('the trace sees the SigV4 signer the Vault login imports as an ES module (an empty trace means something)', async () => {
    const { before } = await trace('sdk');
    expect(before).toContain('@smithy/signature-v4');
  });

  it('web identity: nothing before the first call, nothing after; the call fails on its own terms', async () => {
    const { before, after } = await trace('web');
    expect(before).toEqual([]);
    expect(after).toEqual([
      expect.stringMatching(/^--- CredentialsError: could not get AWS credentials from web identity/),
    ]);
    expect(after[0]).toContain('ECONNREFUSED');
  });

  it('EKS Pod Identity: nothing before the first call, nothing after; the agent URL is refused', async () => {
    const { before, after } = await trace('pod');
    expect(before).toEqual([]);
    expect(after).toEqual([
      expect.stringMatching(/^--- CredentialsError: could not get AWS credentials from EKS Pod Identity/),
    ]);
    expect(after[0]).toContain('URL not accepted');
  });
});
