import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'charts/', 'test/bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // The programs meet only in the contract (sidecar/contract: names, defaults, grammars; see docs/configuration.md).
  {
    files: ['webhook/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          // the contract, and the one version source (it reads package.json, so it cannot live in the pure contract)
          regex: '(^|/)sidecar/(?!contract/|version\\.js$)',
          message: 'the webhook may import only the contract (sidecar/contract/**) and sidecar/version.js from the sidecar',
        }],
      }],
    },
  },
  {
    files: ['sidecar/**/*.ts'],
    ignores: ['sidecar/contract/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/webhook/**'], message: 'the sidecar must not import the webhook' }],
      }],
    },
  },
  {
    files: ['sidecar/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['../**', '**/webhook/**', '**/sidecar/**', 'node:*', '@*/**'],
          message: 'the contract is pure and depends on neither program: import only ./ modules of sidecar/contract',
        }],
      }],
    },
  },
);
