import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { appendFile, chown, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { createHash } from 'node:crypto'
import pg from 'pg'
import { freePort } from './server-process.js'

const run = promisify(execFile)

const PG_ROOT = '/usr/lib/postgresql'
const SUPERUSER = 'postgres'
/** The OS account that owns the cluster when the tests run as root (initdb refuses root). */
const OS_OWNER = 'postgres'

interface Teardown {
  teardown(fn: () => unknown): void
}

export type StopMode = 'smart' | 'fast' | 'immediate'
export type Settings = Readonly<Record<string, string | number | boolean>>

export interface PgClusterOptions {
  /** Extra postgresql.conf lines, e.g. `{ max_connections: 20, fsync: 'off' }`. */
  readonly settings?: Settings
}

/**
 * The directory of the newest installed PostgreSQL server binaries, or undefined when there are
 * none (tests that need a cluster of their own skip on that, and only on that).
 */
export function postgresBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(path.join(PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : path.join(PG_ROOT, versions[0], 'bin')
}

function confValue(value: string | number | boolean): string {
  if (typeof value === 'number') return String(value)
  if (typeof value === 'boolean') return value ? 'on' : 'off'
  return `'${value.replace(/'/g, "''")}'`
}

const INITDB_ARGS = ['-U', SUPERUSER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']
const initdbOutputs = new Map<string, Promise<string>>()

/**
 * A data directory as initdb leaves it, made once per machine, binaries and arguments, and copied
 * for each cluster: initdb took 0.40 s on a quiet machine (more under load) bootstrapping catalogs
 * that come out the same every time, against 0.13 s for the copy, and some two dozen clusters per
 * run paid it on a 2-core machine. It is built
 * in a staging directory and renamed into place, so a concurrent test process either finds the
 * whole directory or builds its own and loses the rename; it is never seen half written.
 */
function initdbOutput(binDir: string): Promise<string> {
  const key = createHash('sha256')
    .update(JSON.stringify([binDir, INITDB_ARGS, process.getuid?.()]))
    .digest('hex')
    .slice(0, 16)
  const dir = path.join(tmpdir(), `shizenha-pg-initdb-${key}`)
  let made = initdbOutputs.get(dir)
  if (made === undefined) {
    made = (async () => {
      if (existsSync(path.join(dir, 'PG_VERSION'))) return dir
      const staging = await mkdtemp(path.join(tmpdir(), 'shizenha-pg-initdb-staging-'))
      try {
        await PgCluster.ownForServer(staging)
        await PgCluster.execAs(binDir, 'initdb', ['-D', path.join(staging, 'data'), ...INITDB_ARGS])
        await rename(path.join(staging, 'data'), dir).catch((err: NodeJS.ErrnoException) => {
          // Another test process renamed its copy first; either is as good.
          if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err
        })
      } finally {
        await rm(staging, { recursive: true, force: true })
      }
      return dir
    })()
    initdbOutputs.set(dir, made)
  }
  return made
}

/** Clusters still on disk, so that an exiting test process never leaves a postmaster behind. */
const live = new Set<PgCluster>()
process.once('exit', () => {
  for (const cluster of live) cluster.killNow()
})

/**
 * A throwaway PostgreSQL cluster of a test's own: its own data directory in a temp dir and its own
 * port, so a test may crash it, stall it, fill its disk or stream it to a replica without touching
 * the shared server. `create` registers a teardown that stops the postmaster (forcibly if need be)
 * and removes the files, and an exit hook does the same if the test process ends first.
 */
export class PgCluster {
  private started = false
  private paused = false

  private constructor(
    readonly binDir: string,
    /** The temp dir holding `data/` and the server log. */
    readonly root: string,
    readonly dataDir: string,
    readonly port: number
  ) {}

  /**
   * A fresh initdb'd data directory (trust auth, superuser `postgres`, TCP on 127.0.0.1 only, no
   * Unix socket), copied from the machine's initdb output, with `settings` written into
   * postgresql.conf. Does not start the server.
   * @throws when no PostgreSQL binaries are installed or initdb fails.
   */
  static async create(t: Teardown, options: PgClusterOptions = {}): Promise<PgCluster> {
    const binDir = postgresBinDir()
    if (binDir === undefined) throw new Error(`no PostgreSQL server binaries under ${PG_ROOT}`)
    const root = await mkdtemp(path.join(tmpdir(), 'shizenha-pg-'))
    const cluster = new PgCluster(binDir, root, path.join(root, 'data'), await freePort())
    live.add(cluster)
    t.teardown(() => cluster.destroy())
    await PgCluster.ownForServer(root)
    await run('cp', ['-a', await initdbOutput(binDir), cluster.dataDir])
    await cluster.configure({
      listen_addresses: '127.0.0.1',
      port: cluster.port,
      unix_socket_directories: '',
      ...options.settings
    })
    return cluster
  }

  /**
   * A streaming standby of this (running) cluster: pg_basebackup over a replication connection
   * into a data directory of its own, with standby.signal and primary_conninfo (`-R`), on its own
   * port. Started, and read-only like any hot standby. initdb's trust lines let `postgres` replicate
   * from 127.0.0.1.
   */
  async standby(t: Teardown): Promise<PgCluster> {
    const root = await mkdtemp(path.join(tmpdir(), 'shizenha-pg-standby-'))
    const standby = new PgCluster(this.binDir, root, path.join(root, 'data'), await freePort())
    live.add(standby)
    t.teardown(() => standby.destroy())
    await PgCluster.ownForServer(root)
    await standby.exec('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-U',
      SUPERUSER,
      '-D',
      standby.dataDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync'
    ])
    await standby.configure({ port: standby.port, hot_standby: true })
    await standby.start()
    return standby
  }

  /** Gives `dir` to the account that runs the cluster's binaries, when the tests run as root. */
  static async ownForServer(dir: string): Promise<void> {
    if (!PgCluster.asRoot()) return
    const { stdout } = await run('id', ['-u', OS_OWNER])
    const { stdout: gid } = await run('id', ['-g', OS_OWNER])
    await chown(dir, Number(stdout.trim()), Number(gid.trim()))
  }

  private static asRoot(): boolean {
    return process.getuid?.() === 0
  }

  /** Runs one of the cluster's binaries as the owner of its files. */
  static execAs(binDir: string, binary: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    const file = path.join(binDir, binary)
    return PgCluster.asRoot() ? run('runuser', ['-u', OS_OWNER, '--', file, ...args]) : run(file, args)
  }

  private exec(binary: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    return PgCluster.execAs(this.binDir, binary, args)
  }

  /** Appends postgresql.conf settings; they apply at the next start (or `reload()` for reloadable ones). */
  async configure(settings: Settings): Promise<void> {
    const lines = Object.entries(settings).map(([key, value]) => `${key} = ${confValue(value)}\n`)
    await appendFile(path.join(this.dataDir, 'postgresql.conf'), lines.join(''))
  }

  /**
   * Puts pg_hba.conf lines before initdb's `trust` lines (the first matching line wins), e.g.
   * `host all app 127.0.0.1/32 scram-sha-256`; they apply at the next start or `reload()`.
   */
  async prependHba(lines: readonly string[]): Promise<void> {
    const file = path.join(this.dataDir, 'pg_hba.conf')
    await writeFile(file, `${lines.join('\n')}\n${await readFile(file, 'utf8')}`)
  }

  /** Starts the server and waits until it accepts connections (crash recovery included). */
  async start(): Promise<void> {
    try {
      await this.exec('pg_ctl', ['start', '-D', this.dataDir, '-l', this.logFile, '-w', '-t', '120'])
    } catch (err) {
      throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${await this.log()}`, { cause: err })
    }
    this.started = true
  }

  /**
   * Stops the server: `fast` rolls back open transactions and checkpoints; `immediate` is a crash
   * (the postmaster and every backend quit at once, and the next start runs crash recovery).
   */
  async stop(mode: StopMode = 'fast'): Promise<void> {
    await this.exec('pg_ctl', ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '60'])
    this.started = false
  }

  /** Kills PostgreSQL as a crash would: every connection drops without a goodbye. */
  crash(): Promise<void> {
    return this.stop('immediate')
  }

  /**
   * Freezes the server (SIGSTOP to the postmaster and every backend): connections stay open and
   * new ones are accepted by the kernel, but nothing answers, as with a hung host. `resume()` or
   * the teardown thaws it.
   */
  pause(): void {
    for (const pid of this.processes()) process.kill(pid, 'SIGSTOP')
    this.paused = true
  }

  resume(): void {
    for (const pid of this.processes()) process.kill(pid, 'SIGCONT')
    this.paused = false
  }

  private processes(): number[] {
    const pid = this.pid()
    if (pid === undefined) throw new Error('PostgreSQL is not running')
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
    return [pid, ...children]
  }

  /** Re-reads postgresql.conf without a restart. */
  async reload(): Promise<void> {
    await this.exec('pg_ctl', ['reload', '-D', this.dataDir])
  }

  /** A connection URL as the superuser; `db` defaults to `postgres`. */
  url(db = 'postgres'): string {
    return `postgres://${SUPERUSER}@127.0.0.1:${this.port}/${encodeURIComponent(db)}`
  }

  /** Runs SQL as the superuser on a connection of its own (CREATE DATABASE works: no transaction). */
  async sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, db = 'postgres', values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.url(db) })
    // A crash while the query runs must fail the query, not the test process.
    client.on('error', () => {})
    await client.connect()
    try {
      return (await client.query<R>(text, values)).rows
    } finally {
      await client.end().catch(() => {})
    }
  }

  /**
   * The postmaster's process id while it runs. postmaster.pid outlives a killed postmaster, and
   * its number may since belong to another process, so the process must name this data directory.
   */
  pid(): number | undefined {
    try {
      const pid = Number(readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
      if (!Number.isInteger(pid) || pid <= 0) return undefined
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.dataDir) ? pid : undefined
    } catch {
      return undefined
    }
  }

  get logFile(): string {
    return path.join(this.root, 'server.log')
  }

  /** The server log, for a failing test's diagnostics. */
  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '')
  }

  /** Stops the server however it can and removes every file; safe to call twice. */
  async destroy(): Promise<void> {
    if (!live.has(this)) return
    if (this.paused) {
      try {
        this.resume()
      } catch {
        // Gone already; nothing to thaw.
      }
    }
    if (this.started || this.pid() !== undefined) await this.stop('immediate').catch(() => {})
    this.killNow()
  }

  /** Synchronous last resort for exit hooks: SIGKILL the postmaster and its backends if still there, remove the files. */
  killNow(): void {
    let pids: number[] = []
    try {
      pids = this.processes()
    } catch {
      // Not running, or already gone: a stale postmaster.pid after a crash.
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Exited between the listing and the kill.
      }
    }
    rmSync(this.root, { recursive: true, force: true })
    live.delete(this)
  }
}
