// Mutation testing (issue 24, item 5): run by hand with `npm run mutate`, never in `npm test` or CI.
// See test/README.md, "Mutation testing (Stryker)", for what it covers and the scores.
import { readdirSync } from 'node:fs'

/**
 * Which part to mutate: MUTATE=policy or MUTATE=ledger runs one; unset runs both in one report.
 * The tap runner runs a mutant's covering test files in the order given here and stops at the
 * first that fails, so each list puts the fast unit tests before those that start an app on PGlite.
 */
const TARGETS = {
  policy: {
    mutate: ['src/policy/**/*.ts'],
    tests: [
      ...testsIn('test/policy'),
      // The decision routes over the engine: the notice as the HTTP contract shows it (PGlite).
      'test/decisions/compliance.test.ts',
      'test/decisions/compliance-records.test.ts'
    ]
  },
  ledger: {
    mutate: ['src/ledger/hashing.ts', 'src/ledger/content-hash.ts', 'src/ledger/verify.ts'],
    tests: [
      'test/ledger/content-hash.test.ts',
      ...testsIn('test/ledger').filter((file) => file.startsWith('test/ledger/mutants')),
      // The ledger as the app writes, verifies and exports it (PGlite); the outside verifier scripts.
      'test/ledger/writer.test.ts',
      'test/ledger/integrity.test.ts',
      'test/ledger/verify-scripts.test.ts'
    ]
  }
}

function testsIn(dir) {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => `${dir}/${name}`)
}

const target = process.env.MUTATE ?? 'all'
const chosen = target === 'all' ? Object.values(TARGETS) : [TARGETS[target]]
if (chosen[0] === undefined) throw new Error(`MUTATE=${target}: expected one of ${Object.keys(TARGETS).join(', ')}`)

/**
 * The notices' ja/en texts are the published wording, pinned as a whole by the document hashes
 * in test/policy/versions.test.ts: a mutant there only measures that pin, and would outnumber
 * the mutants of the engine. Ids, purposes, item lists and flags of the notices stay mutated.
 */
const NOTICE = /[\\/]src[\\/]policy[\\/]notice-v\d+\.ts$/
const noticeProse = {
  shouldIgnore(path) {
    const parent = path.parentPath
    if (!path.isStringLiteral() || !parent?.isObjectProperty() || parent.node.value !== path.node) return undefined
    const key = parent.node.key
    const name = key.type === 'Identifier' ? key.name : key.type === 'StringLiteral' ? key.value : undefined
    if (name !== 'ja' && name !== 'en') return undefined
    return NOTICE.test(path.hub?.file?.opts?.filename ?? '') ? 'notice text: published wording, pinned by its document hash' : undefined
  }
}

export const strykerPlugins = [{ kind: 'Ignore', name: 'notice-prose', value: noticeProse }]

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner', './stryker.config.mjs'],
  ignorers: ['notice-prose'],
  mutate: chosen.flatMap((t) => t.mutate),
  tap: {
    testFiles: [...new Set(chosen.flatMap((t) => t.tests))],
    nodeArgs: ['--import', 'tsx'],
    forceBail: true
  },
  coverageAnalysis: 'perTest',
  // The machine is shared: one test process at a time.
  concurrency: 1,
  // The app-level test files take 5-15 s and vary with the load of the machine; a mutant is a
  // timeout only when it takes far longer than that.
  timeoutMS: 30_000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 15,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  clearTextReporter: { allowColor: false, logTests: false },
  htmlReporter: { fileName: `reports/mutation/${target}.html` },
  jsonReporter: { fileName: `reports/mutation/${target}.json` },
  // `npm run mutate -- --incremental` keeps its results here and, on the next such run, tests
  // only the mutants whose code or covering test files changed (a file of its own: the JSON
  // reporter writes its report at the same moment).
  incrementalFile: `reports/mutation/${target}-incremental.json`,
  tempDirName: '.stryker-tmp',
  // Not needed by the tests; copying them into each sandbox only costs time.
  ignorePatterns: ['/dist', '/.tap', '/coverage', '/data', '/bench-results', '/scratch', '/reports', '/clients']
}
