// Flat config: TypeScript rules for every workspace; generated output and deps ignored. The
// house's boundaries are lint rules too: plugins use core's public API only and never reach into
// another plugin's folders, and core's rooms import downward only, without cycles
// (docs/architecture.md, "Layer rules").
import { readdirSync } from 'node:fs'
import js from '@eslint/js'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'
import importX from 'eslint-plugin-import-x'
import tseslint from 'typescript-eslint'

const folders = parent =>
  readdirSync(parent, { withFileTypes: true })
    .filter(entry => entry.isDirectory())
    .map(entry => entry.name)

const noDecoratorMetadata = {
  name: 'tsyringe',
  importNames: ['singleton', 'autoInjectable', 'injectable'],
  message:
    'Use explicit tokens and factory registrations (no decorator metadata: plugins must work under tsx and esbuild too).',
}

const publicApiOnly = [
  {
    group: ['@parley/core/*', '!@parley/core/testing', '!@parley/core/testing/browser', '!@parley/core/wire'],
    message:
      'Import the public API from @parley/core (@parley/core/wire for API shapes in front ends, @parley/core/testing in tests).',
  },
  { group: ['**/core/src/**', '**/core/dist/**'], message: 'Plugins never reach into core internals.' },
  {
    group: ['@parley/*/src/**', '@parley/*/test/**', '@parley/*/client/**', '@parley/*/dist/**'],
    message: "Another package's files are its own: import its package name (its public exports).",
  },
]

/** Each package under plugins/, examples/ and themes/ stays in its own folder. */
const packageBoundaries = ['plugins', 'examples', 'themes'].flatMap(parent =>
  folders(parent).map(name => {
    const others = ['plugins', 'examples', 'themes']
      .flatMap(p => folders(p).map(other => [p, other]))
      .filter(([p, other]) => !(p === parent && other === name))
    return {
      files: [`${parent}/${name}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: [noDecoratorMetadata],
            patterns: [
              ...publicApiOnly,
              {
                group: [...new Set(others.map(([, other]) => `../**/${other}/**`)), '../../../**'],
                message: `${parent}/${name} reaches into another package's folder: import that package by name, or the shared helper from @parley/core/testing.`,
              },
            ],
          },
        ],
      },
    }
  }),
)

/**
 * Core's rooms, lowest first. A room may import the rooms of its own level and below; the
 * kernel (the composition root), the CLI, the test kit and index.ts may import anything.
 */
const CORE_LEVELS = [
  ['config', 'kv', 'events', 'upstream', 'db', 'http', 'storage'],
  ['auth', 'settings'],
  ['jobs', 'catalog', 'usage', 'blocklist', 'retention', 'ui'],
  ['pipeline'],
]
const TOP = ['kernel', 'cli', 'testing']
const room = name => `./core/src/${name}`
/** Kernel files lower rooms may use: the registry primitive, the registries' types, the version. */
const KERNEL_PRIMITIVES = ['./registry.ts', './registries.ts', './version.ts']
const layerZones = [
  ...CORE_LEVELS.flatMap((level, index) =>
    CORE_LEVELS.slice(index + 1)
      .flat()
      .map(higher => ({
        target: level.map(room),
        from: room(higher),
        // The provider port is a contract the catalog validates channels against, not the data plane.
        ...(higher === 'pipeline' ? { except: ['./provider.ts'] } : {}),
        message: `core/src/${higher} is above this room: lower rooms never import upward (docs/architecture.md).`,
      })),
  ),
  ...TOP.map(top => ({
    target: CORE_LEVELS.flat().map(room),
    from: room(top),
    ...(top === 'kernel' ? { except: KERNEL_PRIMITIVES } : {}),
    message: `core/src/${top} composes the rooms; they never import it (docs/architecture.md).`,
  })),
]

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'data/**',
      '.tap/**',
      'scratch/**',
      'themes/*/assets/built/**',
      '**/*.tmp.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        performance: 'readonly',
        queueMicrotask: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      // A variable a closure reads before its single assignment cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [noDecoratorMetadata] }],
    },
  },
  ...packageBoundaries,
  {
    files: ['core/test/fixtures/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...publicApiOnly,
            {
              group: ['../../../**', '../../../../**'],
              message: 'The fixture plugin uses @parley/core only, like a third-party plugin.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['core/src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'core/tsconfig.json' })],
      // no-cycle parses the modules it follows: with the TypeScript parser, as ESLint does.
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
)
