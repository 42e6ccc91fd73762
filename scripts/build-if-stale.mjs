#!/usr/bin/env node
// `npm start` (its prestart) and the `shizenha` bin run the build in dist/. Running tsc every time
// cost 3–10 s even when nothing had changed, so this runs it only when something the build reads
// (src/, migrations/, scripts/, the tsconfig files) is newer than the last build that succeeded.
//
//   node scripts/build-if-stale.mjs      builds when stale; exit 0 when dist/ is current, else tsc's code
//
// Standard library only: it runs before anything is compiled. tsc's output goes to stderr, so a
// CLI call that builds first still prints only its own answer on stdout. Type errors are reported
// but do not stop the start (tsc writes the JavaScript anyway); `npm run typecheck` and CI fail on them.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** What tsconfig.build.json compiles, and the configs that say how. */
const INPUTS = ['src', 'migrations', 'scripts', 'tsconfig.json', 'tsconfig.build.json']
/** Written after each successful build, with the build's start as its mtime: an edit made while tsc ran still counts as newer. */
const STAMP = 'dist/.build-stamp'
const LOCK = 'dist/.build-lock'
/** A lock this old was left by a build that died before it could write its pid. */
const LOCK_ABANDONED_MS = 10 * 60_000
const LOCK_POLL_MS = 100
/** tsc's exit status when it found errors but wrote every output (ExitStatus.DiagnosticsPresent_OutputsGenerated). */
const TSC_ERRORS_EMITTED = 2

/**
 * The newest mtime under `file`, directories included: adding, removing or renaming a source
 * changes its directory's mtime, so a deleted file makes the build stale too.
 */
function newest(file) {
  let stat
  try {
    stat = statSync(file)
  } catch (err) {
    if (err.code === 'ENOENT') return { mtimeMs: 0, file }
    throw err
  }
  let found = { mtimeMs: stat.mtimeMs, file }
  if (stat.isDirectory()) {
    for (const name of readdirSync(file)) {
      const inner = newest(path.join(file, name))
      if (inner.mtimeMs > found.mtimeMs) found = inner
    }
  }
  return found
}

/**
 * Why dist/ under `root` needs a build, or undefined when it is current.
 * @returns a reason for the terminal, e.g. "src/config.ts changed since the last build".
 */
export function staleReason(root) {
  let built
  try {
    built = statSync(path.join(root, STAMP)).mtimeMs
  } catch {
    return 'dist/ has no completed build'
  }
  for (const input of INPUTS) {
    const found = newest(path.join(root, input))
    if (found.mtimeMs > built) return `${path.relative(root, found.file)} changed since the last build`
  }
  return undefined
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code === 'EPERM'
  }
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Holds the build lock while `work` runs. Two processes starting at once (two CLI calls, a CLI
 * call beside `npm start`) would otherwise run tsc over the same files together.
 */
function withLock(root, work) {
  const lock = path.join(root, LOCK)
  mkdirSync(path.dirname(lock), { recursive: true })
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
    }
    let holder
    try {
      holder = Number(readFileSync(path.join(lock, 'pid'), 'utf8'))
    } catch {
      holder = undefined
    }
    const abandoned = holder === undefined ? Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > LOCK_ABANDONED_MS : !alive(holder)
    if (abandoned) rmSync(lock, { recursive: true, force: true })
    else sleep(LOCK_POLL_MS)
  }
  try {
    writeFileSync(path.join(lock, 'pid'), String(process.pid))
    return work()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** tsc from the checkout's dev dependencies, or undefined where there are none (`npm ci --omit=dev`). */
function tscOf(root) {
  try {
    return createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc')
  } catch {
    return undefined
  }
}

/**
 * Builds dist/ under `root` when it is stale (see staleReason), waiting for a build another
 * process is running.
 * @returns `fresh` (nothing to do), `built` (type errors, if any, on stderr), or `failed` (tsc wrote
 * nothing, or is not installed), with the reason on stderr.
 */
export function buildIfStale(root) {
  if (staleReason(root) === undefined) return 'fresh'
  return withLock(root, () => {
    // Another process may have built it while this one waited for the lock.
    const reason = staleReason(root)
    if (reason === undefined) return 'fresh'
    const tsc = tscOf(root)
    if (tsc === undefined) {
      process.stderr.write(`build: ${reason}, and TypeScript is not installed here: run \`npm install\`, then \`npm run build\`\n`)
      return 'failed'
    }
    // tsc's incremental state would not emit again the files of a dist/ that lost them.
    if (!existsSync(path.join(root, 'dist/src'))) rmSync(path.join(root, 'dist/.tsbuildinfo'), { force: true })
    process.stderr.write(`build: ${reason}; compiling into dist/ …\n`)
    const startedAt = new Date()
    const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 2, 2] })
    if (run.status === TSC_ERRORS_EMITTED) {
      // Type errors do not stop the JavaScript from being written, and tsx, which the CLI used
      // before, ran such code too: say so, run it, and leave the errors to `npm run typecheck` and CI.
      process.stderr.write('build: tsc reported type errors (above); dist/ was written all the same\n')
    } else if (run.status !== 0) {
      process.stderr.write(`build: tsc failed (exit ${run.status ?? run.signal}); dist/ is not current\n`)
      return 'failed'
    }
    const stamp = path.join(root, STAMP)
    writeFileSync(stamp, `${startedAt.toISOString()}\n`)
    utimesSync(stamp, startedAt, startedAt)
    return 'built'
  })
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = buildIfStale(fileURLToPath(new URL('..', import.meta.url))) === 'failed' ? 1 : 0
}
