/**
 * Golden fixtures: test/fixtures/inject/<case>.pod.yaml → <case>.pod.injected.yaml (+ <case>.warnings.txt),
 * test/fixtures/deny/<case>.pod.yaml → <case>.message.txt. `UPDATE_FIXTURES=1 npm test` rewrites the
 * expected files; review the diff by eye before committing.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pod as PodModel } from 'kubernetes-models/v1';
import { parse, stringify } from 'yaml';
import { admit, applyOps } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const UPDATE = process.env.UPDATE_FIXTURES === '1';

function cases(dir: string): string[] {
  return readdirSync(join(FIXTURES, dir))
    .filter((f) => f.endsWith('.pod.yaml'))
    .map((f) => f.slice(0, -'.pod.yaml'.length))
    .sort();
}
const readYaml = (path: string): unknown => parse(readFileSync(path, 'utf8'));

describe('inject fixtures', () => {
  const names = cases('inject');
  test('there are fixtures', () => expect(names.length).toBeGreaterThanOrEqual(10));

  test.each(names)('%s', async (name) => {
    const input = readYaml(join(FIXTURES, 'inject', `${name}.pod.yaml`));
    const { response } = await admit(input);
    expect(response.allowed).toBe(true);
    const injected = applyOps(input, response.ops);

    const expectedFile = join(FIXTURES, 'inject', `${name}.pod.injected.yaml`);
    const warningsFile = join(FIXTURES, 'inject', `${name}.warnings.txt`);
    if (UPDATE) {
      writeFileSync(expectedFile, stringify(injected, { lineWidth: 0 }));
      if (response.warnings.length > 0) writeFileSync(warningsFile, `${response.warnings.join('\n')}\n`);
      else rmSync(warningsFile, { force: true });
    }
    expect(injected).toEqual(readYaml(expectedFile));
    const expectedWarnings = existsSync(warningsFile)
      ? readFileSync(warningsFile, 'utf8').split('\n').filter(Boolean)
      : [];
    expect(response.warnings).toEqual(expectedWarnings);

    // what the apiserver would store is a valid v1 Pod
    expect(() => new PodModel(injected as ConstructorParameters<typeof PodModel>[0]).validate()).not.toThrow();

    // running the webhook on its own output changes nothing
    const again = await admit(injected);
    expect(again.response.allowed).toBe(true);
    expect(again.response.ops).toEqual([]);
  });
});

describe('deny fixtures', () => {
  const names = cases('deny');
  test('there are fixtures', () => expect(names.length).toBeGreaterThanOrEqual(10));

  test.each(names)('%s', async (name) => {
    const input = readYaml(join(FIXTURES, 'deny', `${name}.pod.yaml`));
    const { response, result } = await admit(input);
    expect(result.httpStatus).toBe(200);
    expect(response.allowed).toBe(false);
    expect(response.status?.code).toBe(400);
    expect(response.ops).toEqual([]);
    const messageFile = join(FIXTURES, 'deny', `${name}.message.txt`);
    if (UPDATE) writeFileSync(messageFile, `${response.status?.message ?? ''}\n`);
    expect(response.status?.message).toBe(readFileSync(messageFile, 'utf8').trimEnd());
  });
});
