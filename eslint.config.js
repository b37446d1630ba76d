import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'charts/', 'test/bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // type-aware rules (floating promises, unsafe any, misused promises, …) on every TypeScript file
  ...tseslint.configs.recommendedTypeCheckedOnly.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Product code: warnings where a function grows past what a reader holds at once (split it into named steps).
  {
    files: ['sidecar/**/*.ts', 'webhook/**/*.ts', 'bin/**/*.ts'],
    rules: {
      complexity: ['warn', 25],
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  // Tests, stand-ins and the demo read JSON answers and YAML fixtures as they come: `any` there is the subject.
  {
    files: ['test/**/*.ts', 'stand-ins/**/*.ts', 'demo/**/*.ts'],
    rules: {
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  // The programs meet only in the contract (sidecar/contract: names, defaults, grammars; see docs/configuration.md).
  {
    files: ['webhook/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // the contract, the one version source (it reads package.json, so it cannot live in the pure contract),
              // and the runtime helpers both programs need the same: the metrics registry, node's response and tick shapes
              regex:
                '(^|/)sidecar/(?!contract/|version\\.js$|metrics-registry\\.js$|response-shape\\.js$|tick-shape\\.js$)',
              message:
                'the webhook may import only the contract (sidecar/contract/**), sidecar/version.js, sidecar/metrics-registry.js, sidecar/response-shape.js and sidecar/tick-shape.js from the sidecar',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['sidecar/**/*.ts'],
    ignores: ['sidecar/contract/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/webhook/**'], message: 'the sidecar must not import the webhook' }],
        },
      ],
    },
  },
  {
    files: ['sidecar/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../**', '**/webhook/**', '**/sidecar/**', 'node:*', '@*/**'],
              message:
                'the contract is pure and depends on neither program: import only ./ modules of sidecar/contract',
            },
          ],
        },
      ],
    },
  },
);
