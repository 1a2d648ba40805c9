// Flat config: TypeScript rules for every workspace; generated output and deps ignored.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const publicApiOnly = [
  {
    group: ['@parley/core/*', '!@parley/core/testing', '!@parley/core/testing/browser', '!@parley/core/wire'],
    message: 'Import the public API from @parley/core (@parley/core/wire for API shapes in front ends, @parley/core/testing in tests).',
  },
  { group: ['**/core/src/**', '**/core/dist/**'], message: 'Plugins never reach into core internals.' },
]

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', '.tap/**', 'scratch/**', 'themes/*/assets/built/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', performance: 'readonly', queueMicrotask: 'readonly', NodeJS: 'readonly' },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      // A variable a closure reads before its single assignment cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'tsyringe', importNames: ['singleton', 'autoInjectable', 'injectable'], message: 'Use explicit tokens and factory registrations (no decorator metadata: plugins must work under tsx and esbuild too).' }],
        },
      ],
    },
  },
  {
    // Plugins, examples and the core's fixture plugin use the public API only (docs/plugins.md).
    files: ['plugins/**/*.ts', 'examples/**/*.ts', 'themes/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: publicApiOnly }] },
  },
  {
    files: ['core/test/fixtures/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...publicApiOnly,
            { group: ['../../../**', '../../../../**'], message: 'The fixture plugin uses @parley/core only, like a third-party plugin.' },
          ],
        },
      ],
    },
  },
)
