// Lint rules that carry the style guide's bans: ambient time only in the clock module, SQL only in the store.
import tseslint from 'typescript-eslint';
import importLayers from './scripts/eslint-import-layers.js';

const ambientTime = [
  {
    selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
    message:
      'Read time through the injected Clock (src/time/clock.ts); cluster decisions use the database clock.',
  },
  {
    selector: "NewExpression[callee.name='Date'][arguments.length=0]",
    message:
      'Read time through the injected Clock (src/time/clock.ts); cluster decisions use the database clock.',
  },
  {
    selector:
      "CallExpression[callee.object.name='DateTime'][callee.property.name=/^(now|local)$/][arguments.length=0]",
    message: 'Read time through the injected Clock (src/time/clock.ts).',
  },
];
const sqlOutsideStore = [
  {
    selector: "TaggedTemplateExpression[tag.name='sql']",
    message: 'SQL lives in src/store/ only.',
  },
  {
    selector: 'CallExpression[callee.property.name=/^(selectFrom|insertInto|updateTable|deleteFrom)$/]',
    message: 'SQL lives in src/store/ only.',
  },
  {
    // A pg client's or pool's raw query (LISTEN, advisory locks): the store wraps it too (store/session-store.ts).
    selector: "CallExpression[callee.property.name='query']",
    message: 'SQL lives in src/store/ only (raw .query( calls too).',
  },
];

export default tseslint.config(
  // .tmp/ holds scratch output (benchmarks' compiled children, logs), as in .gitignore.
  { ignores: ['node_modules/**', 'dist/**', '.belfry/**', 'coverage/**', 'bin/**', 'ui/dist/**', '.tmp/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/time/clock.ts', 'src/store/**'],
    rules: { 'no-restricted-syntax': ['error', ...ambientTime, ...sqlOutsideStore] },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', ...ambientTime] },
  },
  {
    // The import graph of src/: no cycles, and each folder imports only its layer's folders (LAYERS in
    // scripts/import-graph.js; `npm run layers` prints them).
    files: ['src/**/*.ts'],
    plugins: { belfry: importLayers },
    rules: { 'belfry/no-import-cycle': 'error', 'belfry/import-layers': 'error' },
  },
  {
    // Async safety: most of Belfry is async loops, where a promise nobody awaits loses its error (and
    // an async callback handed to an API that ignores its result, such as an event emitter, does too).
    // Type-aware, so these rules read the TypeScript project (tsconfig.json) through the project service.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // Settings are read once, validated by one zod schema (src/cli/settings.ts); library code takes them
    // as options. Entry points, tests, benchmarks and scripts own their processes' environment.
    files: ['**/*.ts', '**/*.js'],
    ignores: ['src/cli/settings.ts', 'src/cli/main.ts', 'bin/**', 'test/**', 'bench/**', 'scripts/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            'Read settings through src/cli/settings.ts (the one reader of the environment) and pass them in.',
        },
      ],
    },
  },
);
