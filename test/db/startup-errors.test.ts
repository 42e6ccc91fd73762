import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { lockDataDir } from '../../src/db/data-dir-lock.js'
import { connectFailure, maskSecrets } from '../../src/db/startup-errors.js'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'
import { freePort, runServerToExit, type Exit } from '../support/server-process.js'

const PASSWORD = 's3cret-pw'
const NO_BINARIES = postgresBinDir() === undefined ? 'no PostgreSQL server binaries (apt-get install postgresql-15)' : false

/** Runs the real server with `databaseUrl` until it exits, as `npm start` would. */
function startExpectingFailure(databaseUrl: string): Promise<Exit> {
  return runServerToExit({ DATABASE_URL: databaseUrl, BOOTSTRAP_ADMIN_TOKEN: 'startup-errors-admin-token-0123' })
}

function assertFailure(t: Test, exit: Exit, message: string): void {
  t.equal(exit.code, 1, 'exits non-zero')
  t.equal(exit.stderr.trim(), `failed to start: ${message}`)
  t.notMatch(exit.output, PASSWORD, 'the password is never printed')
  t.notMatch(exit.output, /MigrationError|unknown|\n\s+at /, 'no stack, no "migration unknown"')
}

t.test('a port nobody listens on: connection refused, and the password never shown', async (t) => {
  const port = await freePort()
  const exit = await startExpectingFailure(`postgres://postgres:${PASSWORD}@127.0.0.1:${port}/x`)
  assertFailure(t, exit, `cannot connect to PostgreSQL at 127.0.0.1:${port} (connection refused)`)
})

t.test('a host name that does not resolve', async (t) => {
  const exit = await startExpectingFailure(`postgres://postgres:${PASSWORD}@no-such-host.invalid:5432/x`)
  t.equal(exit.code, 1)
  t.match(
    exit.stderr,
    /^failed to start: cannot connect to PostgreSQL at no-such-host\.invalid:5432 \((host not found|host name lookup failed; try again)\)\n$/
  )
  t.notMatch(exit.output, PASSWORD)
})

t.test('a database that does not exist on the shared server', { skip: process.env.DATABASE_URL ? false : 'needs DATABASE_URL' }, async (t) => {
  const url = new URL(process.env.DATABASE_URL!)
  const name = `nope_${randomBytes(4).toString('hex')}`
  url.pathname = `/${name}`
  const exit = await startExpectingFailure(url.toString())
  assertFailure(t, exit, `database "${name}" does not exist on ${url.hostname}:${url.port || 5432}`)
})

t.test('on a cluster of its own: a missing database, bad credentials, an unknown role, a failing migration', { skip: NO_BINARIES }, async (t) => {
  const cluster = await PgCluster.create(t)
  await cluster.prependHba(['host all app_user 127.0.0.1/32 scram-sha-256'])
  await cluster.start()
  await cluster.sql("CREATE ROLE app_user LOGIN PASSWORD 'the-right-one'")
  // A table in the way of the ledger migration: the one that fails is named, with the reason.
  await cluster.sql('CREATE DATABASE clash')
  await cluster.sql('CREATE TABLE ledger_entries (id integer)', 'clash')
  const address = `127.0.0.1:${cluster.port}`

  const [missing, badPassword, unknownRole, clash] = await Promise.all([
    startExpectingFailure(cluster.url('nope')),
    startExpectingFailure(`postgres://app_user:${PASSWORD}@${address}/postgres`),
    startExpectingFailure(`postgres://ghost:${PASSWORD}@${address}/postgres`),
    startExpectingFailure(cluster.url('clash'))
  ])
  assertFailure(t, missing, `database "nope" does not exist on ${address}`)
  assertFailure(t, badPassword, `authentication failed for user "app_user" on ${address}`)
  // The server's own words say why it refused: here an unknown role.
  assertFailure(t, unknownRole, `PostgreSQL at ${address} refused user "ghost": role "ghost" does not exist`)
  assertFailure(t, clash, 'migration "2026-11-25T02_ledger" failed: relation "ledger_entries" already exists (SQLSTATE 42P07)')
})

t.test('a server that accepts connections but never answers: start-up gives up after the connect timeout', { skip: NO_BINARIES }, async (t) => {
  const cluster = await PgCluster.create(t)
  await cluster.start()
  cluster.pause()
  const started = Date.now()
  const exit = await startExpectingFailure(cluster.url('postgres'))
  cluster.resume()
  t.equal(exit.code, 1, 'exits non-zero')
  t.match(exit.stderr, new RegExp(`^failed to start: cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${cluster.port} \\(.*timeout.*\\)\n$`))
  t.ok(Date.now() - started < 30_000, 'within the connect timeout, not never')
})

t.test('a data directory another live process holds: a plain sentence, like the other start errors', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-locked-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  // This test's own process holds it, as a running service would.
  const release = await lockDataDir(dataDir)
  t.teardown(release)
  const exit = await runServerToExit({ DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: 'startup-errors-admin-token-0123' })
  assertFailure(
    t,
    exit,
    `the embedded database in ${dataDir} is in use by process ${process.pid}; run one process per DATA_DIR, or use PostgreSQL (DATABASE_URL) for replicas`
  )
  t.notMatch(exit.stderr, /DataDirLockedError|Error:/, 'no class name in front of it')
})

t.test('the translation on its own: every address refused, and the password masked however it is spelt', async (t) => {
  const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' })
  const both = new AggregateError([refused('::1:5999'), refused('127.0.0.1:5999')])
  const err = connectFailure(both, 'postgres://app@localhost:5999/x')
  t.equal(err.code, 'database_unreachable')
  t.equal(err.message, 'cannot connect to PostgreSQL at localhost:5999 (connection refused)')
  t.equal(err.cause, both, 'the driver error stays as the cause, for the log')

  const url = 'postgres://app:p%40ss-word@db:5432/x'
  t.equal(maskSecrets('a p@ss-word and a p%40ss-word', url), 'a *** and a ***')
  t.equal(maskSecrets('nothing secret', undefined), 'nothing secret')
})
