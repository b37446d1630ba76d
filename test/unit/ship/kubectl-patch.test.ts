/**
 * Every golden fixture's JSON patch applied by a real kubectl (`kubectl patch --local --type=json`), which uses
 * the json-patch library the API server applies admission patches with, and compared with the expected
 * injected pod. The fixture tests apply the same patch with rfc6902; this catches a patch the two libraries
 * read differently (a path escape, an "add" at an index, an op on a missing parent).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { kubeTool } from '../../support/kube-tools.js';
import { admit } from '../webhook/helpers.js';

const KUBECTL = kubeTool('kubectl');
if ('skip' in KUBECTL) console.log(`skipped: ${KUBECTL.skip}`);
const suite = 'path' in KUBECTL ? describe : describe.skip;

const FIXTURES = fileURLToPath(new URL('../../fixtures/inject/', import.meta.url));
const cases = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.pod.yaml'))
  .map((f) => f.slice(0, -'.pod.yaml'.length))
  .sort();

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vault-irsa-kubectl-'));
  // an empty kubeconfig: --local must never reach for a cluster, and must not pick up the user's
  writeFileSync(join(dir, 'kubeconfig'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubectlPatch(pod: unknown, patch: unknown): { status: number | null; stdout: string; stderr: string } {
  if (!('path' in KUBECTL)) throw new Error('kubectl is not available');
  const podFile = join(dir, `pod-${process.hrtime.bigint()}.json`);
  writeFileSync(podFile, JSON.stringify(pod));
  const r = spawnSync(
    KUBECTL.path,
    ['patch', '--local', '--type=json', '-f', podFile, '-p', JSON.stringify(patch), '-o', 'json'],
    {
      encoding: 'utf8',
      timeout: 60000,
      env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: join(dir, 'kubeconfig') },
    },
  );
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

suite("kubectl patch --local applies each fixture's patch as the API server would", () => {
  test.each(cases)('%s', async (name) => {
    const input = parse(readFileSync(join(FIXTURES, `${name}.pod.yaml`), 'utf8')) as Record<string, unknown>;
    const expected = parse(readFileSync(join(FIXTURES, `${name}.pod.injected.yaml`), 'utf8')) as unknown;
    const { response } = await admit(input);
    expect(response.allowed).toBe(true);
    if (response.ops.length === 0) {
      // kubectl refuses an empty patch; nothing to apply means the expected pod is the input
      expect(expected).toEqual(input);
      return;
    }
    const r = kubectlPatch(input, response.ops);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  test('a patch the API server would refuse is refused by kubectl too (the check is live)', () => {
    const r = kubectlPatch(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'demo' },
        spec: { containers: [{ name: 'a', image: 'x' }] },
      },
      [{ op: 'add', path: '/spec/initContainers/0', value: { name: 'b', image: 'y' } }],
    );
    expect(r.status).not.toBe(0);
  });
});

test('the inject fixtures are there for kubectl', () => {
  expect(cases.length).toBeGreaterThanOrEqual(10);
});
