import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import { defineConfig } from 'eslint/config'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/**
 * ESLint with typescript-eslint's type-checked rules over the service, its tests, scripts and
 * migrations; Prettier owns the layout (.prettierrc.json), so the rules that would argue with it
 * are off (eslint-config-prettier). The client package typechecks and is tested on its own.
 */
export default defineConfig(
  { ignores: ['dist/**', 'coverage/**', '.tap/**', 'clients/**', 'node_modules/**', '.stryker-tmp/**', 'reports/**'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      // Fastify plugins and hooks are async by contract (one without a `done` callback must
      // return a promise), awaited or not; so are the tap callbacks and the CLI actions.
      '@typescript-eslint/require-await': 'off',
      // An empty arrow is how a failure is ignored on purpose (a socket's late error, a close
      // that may find the connection gone); an empty function or method is still reported.
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions'] }],
      // `_name` marks a parameter a signature requires but this implementation does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }]
    }
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // tap tracks every subtest it starts and waits for it; `t.test(...)` needs no await.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] }
      ],
      // Tests read HTTP answers as untyped JSON (`res.json()` is `any`) and assert on their
      // shape; the assertions are the type check there.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off'
    }
  },
  {
    files: ['migrations/**/*.ts'],
    // Kysely's migrations take `Kysely<any>`: a migration must not depend on the schema types of
    // the code that ships with it, which describe the schema after the last migration.
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  prettier
)
