import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { ensureBuilt } from './built-server.js'

const ROOT = new URL('../..', import.meta.url).pathname
/**
 * The build in dist/, as `npm start` runs it: built once per run (scripts/build-if-stale.mjs, whose
 * lock lets one test process build while the others wait), where tsx transformed every module on
 * every start of every test.
 */
const ENTRY = ['dist/src/server.js']
/** What a server's output buffer keeps (the newest part); a long run must not grow without bound. */
const OUTPUT_LIMIT = 4 * 1024 * 1024
const LISTENING = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/
const POLL_MS = 100
/**
 * `npm start` as a supervisor runs it: a parent that forwards SIGTERM and SIGINT to the server and
 * exits with its code. Started in a process group of their own, a signal to the group reaches the
 * server twice, once itself and once through the parent, as systemd's KillMode=control-group does.
 */
const FORWARDING_PARENT = `
const server = require('node:child_process').spawn(process.execPath, process.argv.slice(1), { stdio: 'inherit' })
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.kill(signal))
server.on('exit', (code) => process.exit(code ?? 1))
`

export interface Teardown {
  teardown(fn: () => unknown): void
}

/** The real server, as `npm start` runs it, in a child process of the test. */
export interface ServerProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** http://127.0.0.1:<port>, once it listens. */
  readonly url: string
  /** Settles when the process has exited and its output is closed, with its exit code (null after a signal). */
  readonly exited: Promise<number | null>
  /** What it printed so far, stdout and stderr together (the newest 4 MiB). */
  output(): string
}

export interface StartOptions {
  /** Keep DATABASE_URL from the test's environment (default: only what `env` sets). */
  readonly inheritDatabaseUrl?: boolean
  /** Give up on a server that does not listen within this long (it is killed). */
  readonly startTimeoutMs?: number
  /**
   * Run it under a forwarding parent (FORWARDING_PARENT), both in a new process group whose id is
   * `pid`: `process.kill(-pid, signal)` signals the group; `child` and `exited` are the parent's.
   */
  readonly forwardingParent?: boolean
}

/** The environment of a child server: the test's own, minus DATABASE_URL unless asked for. */
function childEnvironment(env: Record<string, string>, inheritDatabaseUrl: boolean | undefined): NodeJS.ProcessEnv {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', ...env }
  if (!inheritDatabaseUrl && env.DATABASE_URL === undefined) delete childEnv.DATABASE_URL
  return childEnv
}

/** A port nobody listens on right now, for a server that must be found without its log. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts `node dist/src/server.js` (built first when stale) and resolves once it listens; rejects with its output if
 * it exits first or does not listen within `startTimeoutMs` (it is killed). Without a PORT in `env`
 * the OS picks one: the "listening" log line names it (LOG_LEVEL info or lower), or, with a
 * quieter LOG_LEVEL, a free port is chosen here and /healthz polled. With `t`, a teardown stops it
 * (SIGTERM, then SIGKILL) even when the test fails.
 */
export async function startServer(t: Teardown | undefined, env: Record<string, string>, options: StartOptions = {}): Promise<ServerProcess> {
  await ensureBuilt()
  const quiet = env.LOG_LEVEL !== undefined && !['info', 'debug', 'trace'].includes(env.LOG_LEVEL)
  const port = env.PORT ?? (quiet ? String(await freePort()) : '0')
  const child = spawn(process.execPath, options.forwardingParent ? ['-e', FORWARDING_PARENT, '--', ...ENTRY] : ENTRY, {
    cwd: ROOT,
    env: childEnvironment({ ...env, PORT: port }, options.inheritDatabaseUrl),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.forwardingParent === true
  })
  let output = ''
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  t?.teardown(async () => {
    await stopServer({ child, exited })
    // A parent killed after the grace period would leave the server behind.
    if (options.forwardingParent) killGroup(child.pid!)
  })
  const server = (url: string): ServerProcess => ({ child, pid: child.pid!, url, exited, output: () => output })
  return new Promise<ServerProcess>((resolve, reject) => {
    let settled = false
    const settle = (url: string | Error) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      clearInterval(poll)
      if (url instanceof Error) reject(url)
      else resolve(server(url))
    }
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT / 2)
      if (!settled) {
        const match = LISTENING.exec(output)
        if (match?.[1]) settle(match[1])
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    void exited.then((code) => settle(new Error(`server exited with ${code ?? child.signalCode}: ${output}`)))
    // A server that never listens must fail the test, not hang the suite.
    const deadline = setTimeout(() => {
      child.kill('SIGKILL')
      settle(new Error(`server did not listen within ${options.startTimeoutMs ?? 120_000} ms: ${output}`))
    }, options.startTimeoutMs ?? 120_000)
    const url = `http://127.0.0.1:${port}`
    let probing = false
    const poll = setInterval(() => {
      if (port === '0' || probing) return
      probing = true
      fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })
        .then((res) => res.status === 200 && settle(url))
        .catch(() => {})
        .finally(() => (probing = false))
    }, POLL_MS)
  })
}

/** SIGKILL to every process left in the group `pgid`, if any. */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL')
  } catch {
    // The group is gone already.
  }
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/** SIGTERM, then SIGKILL if the process has not gone within `graceMs`; resolves with the exit code. */
export async function stopServer(server: Pick<ServerProcess, 'child' | 'exited'>, graceMs = 5000): Promise<number | null> {
  if (!running(server.child)) return server.exited
  server.child.kill('SIGTERM')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs)
  const code = await server.exited
  clearTimeout(timer)
  return code
}

/** Kills the server at once (SIGKILL), as a crash or the OOM killer would, and waits until it is gone. */
export async function killServer(server: Pick<ServerProcess, 'child' | 'exited'>): Promise<void> {
  if (running(server.child)) server.child.kill('SIGKILL')
  await server.exited
}

/** How a server run that was expected to end, ended. */
export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** stdout and then stderr. */
  readonly output: string
}

/**
 * Runs the server until it exits by itself (a bad setting, a database it cannot use), as `npm start`
 * would; a server that starts after all is killed after `timeoutMs` rather than hanging the suite.
 */
export async function runServerToExit(
  env: Record<string, string>,
  options: { readonly inheritDatabaseUrl?: boolean; readonly timeoutMs?: number } = {}
): Promise<Exit> {
  // Without this, the file passed only when another test file had built dist/ before it ran.
  await ensureBuilt()
  const child = spawn(process.execPath, ENTRY, {
    cwd: ROOT,
    env: childEnvironment({ PORT: '0', ...env }, options.inheritDatabaseUrl),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, output: stdout + stderr })
    })
  )
}

/** The resident set size of a live process in KiB (Linux /proc), or undefined once it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}
