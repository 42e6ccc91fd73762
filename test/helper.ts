import { createHash, randomBytes } from 'node:crypto'
import { readFile, readdir, rename, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import pg from 'pg'
import type { DestinationStream } from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { Database } from '../src/db/database.js'
import { createLogger } from '../src/logger.js'

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef'
export const TEST_CHECKPOINT_KEY = randomBytes(32).toString('base64')

/** The suite runs against PostgreSQL when DATABASE_URL is set, else against embedded PGlite. */
export const DATABASE_URL = process.env.DATABASE_URL === '' ? undefined : process.env.DATABASE_URL
export const DATABASE_KIND = DATABASE_URL ? 'postgres' : 'pglite'

interface Teardown {
  teardown(fn: () => unknown): void
}

const MIGRATIONS = new URL('../migrations/', import.meta.url)

/**
 * Starting PGlite runs initdb in WebAssembly, which takes seconds; a migrated copy is made once
 * per migration set and shared through a temp file by every test process, so each test still
 * gets a database of its own but starts from files instead of from scratch.
 */
let templatePromise: Promise<Blob> | undefined
function pgliteTemplate(): Promise<Blob> {
  templatePromise ??= (async () => {
    const file = path.join(tmpdir(), `shizenha-pglite-${await digestOfMigrations()}.tar`)
    try {
      return new Blob([await readFile(file)])
    } catch {
      const database = await Database.open({ dataDir: 'memory://', schema: 'public', poolSize: 1 })
      await database.migrateToLatestOrThrow()
      const dump = await database.dumpPglite()
      await database.close()
      const partial = `${file}.${process.pid}`
      await writeFile(partial, Buffer.from(await dump.arrayBuffer()))
      await rename(partial, file)
      return dump
    }
  })()
  return templatePromise
}

/** The migrations' digest: a template or dump made from another set of migrations is never used. */
let migrationsDigest: Promise<string> | undefined
function digestOfMigrations(): Promise<string> {
  migrationsDigest ??= (async () => {
    const hash = createHash('sha256')
    for (const name of (await readdir(MIGRATIONS)).sort()) hash.update(name).update(await readFile(new URL(name, MIGRATIONS)))
    return hash.digest('hex').slice(0, 16)
  })()
  return migrationsDigest
}

/**
 * Running the migrations cost every PostgreSQL test database most of a second; they run once per
 * migration set into a template database, which each test's database then copies
 * (CREATE DATABASE … TEMPLATE). An advisory lock makes the test processes starting together
 * build it once; the others wait and copy it. A template nobody may connect to cannot be changed
 * by a test, nor block a copy by being connected to.
 */
const templateNames = new Map<string, Promise<string>>()
function postgresTemplate(server: string): Promise<string> {
  let named = templateNames.get(server)
  if (named === undefined) {
    named = (async () => {
      const name = `shizenha_template_${await digestOfMigrations()}`
      const admin = new pg.Client({ connectionString: server })
      await admin.connect()
      try {
        await admin.query('SELECT pg_advisory_lock(hashtext($1))', [name])
        const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate', [name])
        if (found.rowCount === 0) {
          await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
          await admin.query(`CREATE DATABASE "${name}"`)
          const parsed = new URL(server)
          parsed.pathname = `/${name}`
          const database = await Database.open({ url: parsed.toString(), dataDir: 'memory://', schema: 'public', poolSize: 1 })
          try {
            await database.migrateToLatestOrThrow()
          } finally {
            await database.close()
          }
          await admin.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`)
        }
      } finally {
        await admin.end()
      }
      return name
    })()
    templateNames.set(server, named)
  }
  return named
}

/** Runs one statement as the test server's superuser on a connection of its own (CREATE DATABASE, DROP ROLE). */
export async function adminQuery(text: string, server = DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: server })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

/**
 * A database of the test's own, migrated: a fresh database on the PostgreSQL server (dropped
 * afterwards) or a fresh in-memory PGlite. A database rather than a schema: Kysely's migrator reads the
 * whole catalog, which races with other test files dropping their schemas.
 */
export async function openTestDatabase(t: Teardown, poolSize = 10): Promise<{ database: Database; reopen: () => Promise<Database> }> {
  return openTestDatabaseOn(t, DATABASE_URL, poolSize)
}

/**
 * openTestDatabase on a backend named by the caller rather than by DATABASE_URL: a fresh
 * database on the PostgreSQL server at `server` (dropped afterwards), or with `server`
 * undefined a fresh in-memory PGlite from the migrated template. The conformance suite
 * (test/conformance/) runs each case on both, in one process.
 */
export async function openTestDatabaseOn(
  t: Teardown,
  server: string | undefined,
  poolSize = 10
): Promise<{ database: Database; reopen: () => Promise<Database> }> {
  let url: string | undefined
  if (server) {
    const name = `t_${randomBytes(6).toString('hex')}`
    await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${await postgresTemplate(server)}"`, server)
    t.teardown(() => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, server))
    const parsed = new URL(server)
    parsed.pathname = `/${name}`
    url = parsed.toString()
  }
  return openOn(server, url, poolSize)
}

/**
 * A database on the suite's PostgreSQL server with no migration run, for what a first
 * `shizenha migrate` meets (dropped afterwards); its URL.
 */
export async function emptyTestDatabaseUrl(t: Teardown): Promise<string> {
  if (!DATABASE_URL) throw new Error('an empty database needs the PostgreSQL server of DATABASE_URL')
  const name = `t_${randomBytes(6).toString('hex')}`
  await adminQuery(`CREATE DATABASE "${name}"`)
  t.teardown(() => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
  const parsed = new URL(DATABASE_URL)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

async function openOn(server: string | undefined, url: string | undefined, poolSize: number): Promise<{ database: Database; reopen: () => Promise<Database> }> {
  const template = server ? undefined : await pgliteTemplate()
  const open = () => Database.open({ url, dataDir: 'memory://', schema: 'public', poolSize, pgliteTemplate: template })
  const database = await open()
  return {
    database,
    // PGlite in memory cannot be opened twice; a second handle only exists on PostgreSQL.
    reopen: () => (server ? open() : Promise.resolve(database))
  }
}

export interface TestApp {
  readonly app: FastifyInstance
  readonly database: Database
  readonly config: Config
  /** Injects with the bootstrap admin's token unless `token` says otherwise (null: none). */
  request: (options: InjectOptions & { token?: string | null }) => Promise<LightMyRequestResponse>
}

export interface TestAppOptions {
  readonly now?: () => Date
  readonly config?: Partial<Config>
  readonly logStream?: DestinationStream
  readonly database?: Database
}

export async function buildTestApp(t: Teardown, options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await openTestDatabase(t)).database
  // Load shedding is tested on its own (test/faults/stall.test.ts); elsewhere a busy CI machine
  // lagging the event loop (PGlite runs on it) must not turn answers into 503 overloaded.
  const config = loadConfig(
    {},
    {
      bootstrapAdminToken: ADMIN_TOKEN,
      logLevel: options.logStream ? 'info' : 'silent',
      authFailureLimit: 1_000_000,
      maxEventLoopDelayMs: 0,
      // A key of the test's own, so checkpoints work on PostgreSQL too and nothing is written to ./data.
      checkpointSigningKey: TEST_CHECKPOINT_KEY,
      checkpointEveryEntries: 0,
      checkpointIntervalSeconds: 0,
      ...options.config
    }
  )
  const logger = createLogger(config, options.logStream ?? { write: () => {} })
  const app = await buildApp({
    config,
    database,
    logger,
    closeDatabase: options.database === undefined,
    ...(options.now ? { now: options.now } : {})
  })
  t.teardown(() => app.close())
  return {
    app,
    database,
    config,
    request: ({ token = ADMIN_TOKEN, headers, ...rest }) =>
      app.inject({ ...rest, headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers } })
  }
}

/** Registers a client with the given role and returns its token. */
export async function createClient(
  test: TestApp,
  body: { name?: string; role: 'admin' | 'ops' | 'system'; channels?: string[]; purposes?: string[] }
): Promise<{ id: string; token: string }> {
  const res = await test.request({ method: 'POST', url: '/v1/clients', payload: { name: `${body.role} client`, ...body } })
  if (res.statusCode !== 201) throw new Error(`client registration failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Days from `base` (default now) as RFC 3339. */
export function daysFrom(days: number, base = new Date()): string {
  return new Date(base.getTime() + days * 86_400_000).toISOString()
}

/** Polls `what` every 20 ms for up to `ms`: the milliseconds it took to hold, or null if it never did. */
export async function until(what: () => Promise<boolean>, ms: number): Promise<number | null> {
  const started = Date.now()
  while (Date.now() - started <= ms) {
    if (await what()) return Date.now() - started
    await sleep(20)
  }
  return null
}

/** Skip reason for tests of several service processes: the embedded database belongs to one. */
export const NEEDS_POSTGRES_FOR_TWO_PROCESSES = DATABASE_URL ? false : 'needs PostgreSQL: the embedded database belongs to one process'

/** Two apps on one PostgreSQL database, each with its own pool, as two service processes would be. */
export async function twoAppsOnOneDatabase(t: Teardown): Promise<[TestApp, TestApp]> {
  const { database, reopen } = await openTestDatabase(t)
  const a = await buildTestApp(t, { database })
  const second = await reopen()
  t.teardown(() => second.close())
  return [a, await buildTestApp(t, { database: second })]
}
