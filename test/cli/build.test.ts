import { execFile } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { buildScript, ROOT } from '../support/built-server.js'

/**
 * `npm start` and the `shizenha` bin run the build in dist/, compiled by scripts/build-if-stale.mjs
 * only when something it is built from is newer. Times below are set with utimes, never waited for.
 */

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function node(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

/** A checkout in miniature: the build script, a tsconfig pair as the real one, one source, the dev dependencies. */
function miniatureCheckout(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'shizenha-build-'))
  mkdirSync(path.join(root, 'scripts'))
  mkdirSync(path.join(root, 'src'))
  copyFileSync(path.join(ROOT, 'scripts/build-if-stale.mjs'), path.join(root, 'scripts/build-if-stale.mjs'))
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'))
  writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n')
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    types: [],
    outDir: 'dist',
    rootDir: '.',
    incremental: true,
    tsBuildInfoFile: 'dist/.tsbuildinfo'
  }
  writeFileSync(path.join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions }))
  writeFileSync(path.join(root, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src', 'migrations', 'scripts'] }))
  writeFileSync(path.join(root, 'src/a.ts'), 'export const a: number = 1\n')
  return root
}

/** Sets every input of the build (files and directories) to `at`, and the last build's stamp to `builtAt`. */
function settle(root: string, at: Date, builtAt: Date): void {
  const age = (file: string) => {
    if (!existsSync(file)) return
    if (statSync(file).isDirectory()) for (const name of readdirSync(file)) age(path.join(file, name))
    utimesSync(file, at, at)
  }
  for (const input of ['src', 'migrations', 'scripts', 'tsconfig.json', 'tsconfig.build.json']) age(path.join(root, input))
  utimesSync(path.join(root, 'dist/.build-stamp'), builtAt, builtAt)
}

// Days before the test runs, so that what the test itself changes (a deleted file's directory) is newer.
const DAY = 86_400_000
const BEFORE = new Date(Date.now() - 3 * DAY)
const BUILT = new Date(Date.now() - 2 * DAY)

t.test('scripts/build-if-stale.mjs compiles only when a source is newer than the last build', async (t) => {
  const root = miniatureCheckout()
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const build = () => node(['scripts/build-if-stale.mjs'], root)
  const output = path.join(root, 'dist/src/a.js')

  const first = await build()
  t.equal(first.code, 0)
  t.match(first.stderr, /dist\/ has no completed build; compiling/, 'a checkout without dist/ is built')
  t.equal(first.stdout, '', 'nothing on stdout, which a CLI call keeps for its answer')
  t.ok(existsSync(output), 'the output is there')

  settle(root, BEFORE, BUILT)
  const compiledAt = statSync(output).mtimeMs
  const fresh = await build()
  t.equal(fresh.code, 0)
  t.equal(fresh.stderr, '', 'nothing is newer than the build: nothing is said')
  t.equal(statSync(output).mtimeMs, compiledAt, 'and nothing is compiled')

  writeFileSync(path.join(root, 'src/a.ts'), 'export const a: number = 2\n')
  const edited = await build()
  t.match(edited.stderr, /src\/a\.ts changed since the last build/, 'an edited source is named')
  t.match(readFileSync(output, 'utf8'), /a = 2/, 'and compiled again')

  writeFileSync(path.join(root, 'src/b.ts'), 'export const b = 2\n')
  t.equal((await build()).code, 0)
  settle(root, BEFORE, BUILT)
  unlinkSync(path.join(root, 'src/b.ts'))
  t.match((await build()).stderr, /src changed since the last build/, 'a deleted source makes it stale too (its directory changed)')

  writeFileSync(path.join(root, 'src/c.ts'), "export const c: number = 'three'\n")
  const typeError = await build()
  t.equal(typeError.code, 0, 'a type error does not stop the start')
  t.match(typeError.stderr, /TS2322/, 'it is shown')
  t.match(typeError.stderr, /type errors \(above\); dist\/ was written all the same/)
  t.ok(existsSync(path.join(root, 'dist/src/c.js')), 'and the JavaScript written')
  unlinkSync(path.join(root, 'src/c.ts'))

  // With noEmitOnError, tsc writes nothing when a source has a type error.
  writeFileSync(
    path.join(root, 'tsconfig.build.json'),
    JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmitOnError: true }, include: ['src', 'migrations', 'scripts'] })
  )
  writeFileSync(path.join(root, 'src/a.ts'), "export const a: number = 'four'\n")
  const broken = await build()
  t.equal(broken.code, 1, 'a build that writes nothing fails the start')
  t.match(broken.stderr, /tsc failed \(exit 1\); dist\/ is not current/)
  const { staleReason } = await buildScript()
  t.match(staleReason(root), /changed since the last build/, 'and the next start tries again')
})

t.test('`shizenha --help` runs the build in dist/, never the sources through tsx', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shizenha-bin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // Records every module the process loads, through Node's own loader hooks.
  const log = path.join(dir, 'loaded.txt')
  writeFileSync(
    path.join(dir, 'hooks.mjs'),
    "import { appendFileSync } from 'node:fs'\n" +
      'export async function load(url, context, next) { appendFileSync(process.env.LOADED_LOG, url + "\\n"); return next(url, context) }\n'
  )
  writeFileSync(path.join(dir, 'register.mjs'), "import { register } from 'node:module'\nregister('./hooks.mjs', import.meta.url)\n")
  const help = await node(['--import', path.join(dir, 'register.mjs'), path.join(ROOT, 'src/cli/shizenha.mjs'), '--help'], ROOT, {
    ...process.env,
    LOADED_LOG: log
  })
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: shizenha/, 'the help is on stdout, nothing before it')
  const loaded = readFileSync(log, 'utf8').split('\n')
  t.ok(
    loaded.some((url) => url.endsWith('/dist/src/cli/main.js')),
    'dist/src/cli/main.js is what runs'
  )
  t.notOk(
    loaded.some((url) => url.endsWith('/src/cli/main.ts') || url.includes('/node_modules/tsx/')),
    'neither the TypeScript source nor tsx is loaded'
  )
  const { staleReason } = await buildScript()
  t.equal(staleReason(ROOT), undefined, 'and dist/ is as new as the sources: it was rebuilt if it was not')
})
