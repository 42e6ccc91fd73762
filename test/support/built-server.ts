import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort, type Teardown } from './server-process.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

interface BuildScript {
  readonly buildIfStale: (root: string) => 'fresh' | 'built' | 'failed'
  readonly staleReason: (root: string) => string | undefined
}

/** scripts/build-if-stale.mjs, the one `npm start` and the `shizenha` bin run. */
export async function buildScript(): Promise<BuildScript> {
  return (await import(new URL('../../scripts/build-if-stale.mjs', import.meta.url).href)) as BuildScript
}

/**
 * Brings dist/ up to date as `npm start` does before it runs the service.
 * @throws when tsc wrote nothing.
 */
export async function ensureBuilt(): Promise<void> {
  if ((await buildScript()).buildIfStale(ROOT) === 'failed') throw new Error('the build failed (see stderr)')
}

type Stream = 'stdout' | 'stderr'

/** `node dist/src/server.js` in a child process, with what it prints on stdout (the log) and stderr apart. */
export interface BuiltServer {
  /** http://127.0.0.1:<port>, listening. */
  readonly url: string
  stdout(): string
  stderr(): string
  /** Resolves with the first match of `pattern` in what `stream` has printed, or rejects once the process has exited without it. */
  waitFor(stream: Stream, pattern: RegExp): Promise<RegExpExecArray>
  /** SIGTERM (SIGKILL after 10 s), then its exit code once its output is closed. */
  stop(): Promise<number | null>
}

/**
 * Starts the service as `npm start` runs it once the build is current, on a port of its own, with
 * only the settings `env` gives of those that choose the database and the admin.
 */
export async function startBuiltServer(t: Teardown, env: Record<string, string>): Promise<BuiltServer> {
  await ensureBuilt()
  const port = await freePort()
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', ...env, PORT: String(port) }
  for (const name of ['DATABASE_URL', 'DATABASE_MIGRATION_URL', 'DATABASE_READ_URL', 'BOOTSTRAP_ADMIN_TOKEN']) {
    if (env[name] === undefined) delete childEnv[name]
  }
  const child = spawn(process.execPath, ['dist/src/server.js'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  const printed: Record<Stream, string> = { stdout: '', stderr: '' }
  const listeners = new Set<() => void>()
  let closed = false
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      closed = true
      resolve(code)
      for (const listener of [...listeners]) listener()
    })
  )
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (chunk: Buffer) => {
      printed[stream] += chunk.toString('utf8')
      for (const listener of [...listeners]) listener()
    })
  }
  const waitFor = (stream: Stream, pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(printed[stream])
        if (match === null && !closed) return
        listeners.delete(check)
        if (match) resolve(match)
        else reject(new Error(`the service exited before its ${stream} matched ${pattern}:\n${printed.stdout}\n${printed.stderr}`))
      }
      listeners.add(check)
      check()
    })
  const stop = async () => {
    if (!closed) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  t.teardown(stop)
  await waitFor('stdout', /"msg":"Server listening at /)
  return { url: `http://127.0.0.1:${port}`, stdout: () => printed.stdout, stderr: () => printed.stderr, waitFor, stop }
}
