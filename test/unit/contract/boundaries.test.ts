/**
 * The import boundaries between the programs (eslint.config.js, no-restricted-imports): the webhook reaches the
 * sidecar only through sidecar/contract, the sidecar never imports the webhook, the contract imports neither.
 */
import { ESLint } from 'eslint';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../../..');
// Only the import rule, and no type information: the snippets are files no tsconfig holds.
const eslint = new ESLint({
  cwd: root,
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false, project: null } } },
});

async function restricted(file: string, code: string): Promise<boolean> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).some((m) => m.ruleId === 'no-restricted-imports');
}

test.each([
  ['webhook/x.ts', "import { parseConfig } from '../sidecar/config.js';\nexport const x = parseConfig;\n", true],
  [
    'webhook/inject/x.ts',
    "import { ConfigError } from '../../sidecar/errors.js';\nexport const x = ConfigError;\n",
    true,
  ],
  [
    'webhook/x.ts',
    "import { SIDECAR_ENV } from '../sidecar/contract/names.js';\nexport const x = SIDECAR_ENV;\n",
    false,
  ],
  ['webhook/x.ts', "import { Counter } from '../sidecar/metrics-registry.js';\nexport const x = Counter;\n", false],
  ['sidecar/x.ts', "import { A } from '../webhook/annotations.js';\nexport const x = A;\n", true],
  ['sidecar/x.ts', "import { SIDECAR_ENV } from './contract/names.js';\nexport const x = SIDECAR_ENV;\n", false],
  ['sidecar/contract/x.ts', "import { ConfigError } from '../errors.js';\nexport const x = ConfigError;\n", true],
  ['sidecar/contract/x.ts', "import { A } from '../../webhook/annotations.js';\nexport const x = A;\n", true],
  ['sidecar/contract/x.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n", true],
  [
    'sidecar/contract/x.ts',
    "import { PARTITIONS } from './partitions.generated.js';\nexport const x = PARTITIONS;\n",
    false,
  ],
])('%s: %j restricted: %s', async (file, code, expected) => {
  expect(await restricted(file, code)).toBe(expected);
});
