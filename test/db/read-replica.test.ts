import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Database } from '../../src/db/database.js'
import { StartupError } from '../../src/db/startup-errors.js'
import { assertProblem, jointUse, type Tap } from '../fixtures.js'
import { ADMIN_TOKEN, DATABASE_URL, buildTestApp, openTestDatabase, type TestApp } from '../helper.js'
import { parseExposition, valueOf } from '../ops/exposition.js'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'
import { startServer } from '../support/server-process.js'

/**
 * DATABASE_READ_URL: ledger queries and provision records read from a streaming standby, while
 * everything that decides reads the primary. With the standby's replay paused, what it serves
 * stops moving while the primary goes on, which shows where each read goes.
 */
/** A primary, its streaming standby, and the app on the primary with DATABASE_READ_URL on the standby. */
async function appWithStandby(t: Tap): Promise<{ primary: PgCluster; standby: PgCluster; test: TestApp }> {
  const primary = await PgCluster.create(t)
  await primary.start()
  await primary.sql('CREATE DATABASE app')
  const standby = await primary.standby(t)
  const database = await Database.open({ url: primary.url('app'), readUrl: standby.url('app'), dataDir: 'memory://', schema: 'public', poolSize: 5 })
  const test = await buildTestApp(t, { database })
  t.teardown(() => database.close())
  return { primary, standby, test }
}

t.test(
  'reads that decide nothing go to the standby; decisions read the primary',
  { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' },
  async (t) => {
    const { standby, test } = await appWithStandby(t)

    const first = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-replica') })
    t.equal(first.statusCode, 201)
    const firstId = first.json().entry.id as string

    const listed = async () =>
      (await test.request({ method: 'GET', url: '/v1/ledger?memberId=M-replica' })).json().entries.map((e: { id: string }) => e.id) as string[]
    const caughtUp = async (id: string) => {
      for (let i = 0; i < 200; i += 1) {
        if ((await listed()).includes(id)) return true
        await sleep(25)
      }
      return false
    }
    t.ok(await caughtUp(firstId), 'the standby serves the entry once it has replayed it')

    await standby.sql('SELECT pg_wal_replay_pause()', 'app')
    const second = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-replica') })
    t.equal(second.statusCode, 201, 'decisions go on: they read and write the primary')
    t.equal(second.json().entry.seq, first.json().entry.seq + 1, 'and see the primary as it is')
    await sleep(300)
    t.notOk((await listed()).includes(second.json().entry.id), 'GET /v1/ledger reads the standby: the paused replay hides the new entry')
    const byId = await test.request({ method: 'GET', url: `/v1/ledger/${second.json().entry.id}` })
    t.equal(byId.statusCode, 404, 'so does GET /v1/ledger/{id}')

    await standby.sql('SELECT pg_wal_replay_resume()', 'app')
    t.ok(await caughtUp(second.json().entry.id), 'once replay resumes, the standby serves it')
    t.equal((await test.request({ method: 'GET', url: `/v1/ledger/${second.json().entry.id}` })).statusCode, 200)
  }
)

t.test(
  'verify and export read the standby: one that lags shows an earlier ledger, not a rewrite',
  { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' },
  async (t) => {
    const { primary, standby, test } = await appWithStandby(t)

    const entriesOn = async (cluster: PgCluster) => Number((await cluster.sql<{ n: string }>('SELECT count(*) AS n FROM ledger_entries', 'app'))[0]!.n)
    const checkpoint = async () => {
      const res = await test.request({ method: 'POST', url: '/v1/ledger/checkpoints' })
      t.equal(res.statusCode, 201, 'a checkpoint is taken on the primary')
    }
    const verify = async () => (await test.request({ method: 'GET', url: '/v1/ledger/verify?full=true' })).json<{ ok: boolean; entriesChecked: number }>()
    const trailer = async () => {
      const lines = (await test.request({ method: 'GET', url: '/v1/ledger/export' })).body.trim().split('\n')
      return { entries: lines.length - 1, trailer: JSON.parse(lines.at(-1)!).trailer as { entries: number; note: string | null; problem?: string } }
    }
    const caughtUp = async () => {
      for (let i = 0; i < 400 && (await entriesOn(standby)) !== (await entriesOn(primary)); i += 1) await sleep(25)
      t.equal(await entriesOn(standby), await entriesOn(primary), 'the standby has caught up')
    }

    for (let i = 0; i < 5; i += 1) t.equal((await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse(`M-rv-${i}`) })).statusCode, 201)
    await checkpoint()
    await caughtUp()
    const before = await entriesOn(primary)
    t.match(await verify(), { ok: true, entriesChecked: before })

    await standby.sql('SELECT pg_wal_replay_pause()', 'app')
    for (let i = 5; i < 8; i += 1) t.equal((await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse(`M-rv-${i}`) })).statusCode, 201)
    await checkpoint()
    t.equal(await entriesOn(primary), before + 3, 'the primary went on')

    const lagging = await verify()
    t.match(lagging, { ok: true, entriesChecked: before }, 'verify walked the standby’s ledger, and the checkpoint it has not received is no failure')
    const exported = await trailer()
    t.equal(exported.entries, before, 'the export is the standby’s')
    t.equal(exported.trailer.entries, before, 'and its trailer says where it ends')
    t.type(exported.trailer.note, 'string', 'signed: an earlier ledger contradicts no checkpoint it holds')
    t.notOk(exported.trailer.problem)

    await standby.sql('SELECT pg_wal_replay_resume()', 'app')
    await caughtUp()
    t.match(await verify(), { ok: true, entriesChecked: before + 3 }, 'once caught up, verify covers every entry')
    t.equal((await trailer()).trailer.entries, before + 3)
  }
)

/**
 * Issue 23, item 2: a reader is believed only once it proves to be a streaming standby of the
 * primary (in recovery, the primary's system identifier, the same database), at start and before
 * every verify or export, and /readyz shows when it is not; the checkpoints a verify or an export
 * must extend are read from the primary, and a standby's heads must be the primary's entries.
 */

t.test(
  'another database as DATABASE_READ_URL (migrated, holding a made-up entry) stops the start',
  { skip: DATABASE_URL ? false : 'needs DATABASE_URL: a second database on the same server' },
  async (t) => {
    const { database: primary } = await openTestDatabase(t)
    await primary.migrateToLatestOrThrow()
    const copy = await buildTestApp(t)
    t.equal(
      (await copy.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-made-up') })).statusCode,
      201,
      'the copy holds an entry the primary never had'
    )
    const started = await startServer(t, { DATABASE_URL: primary.url!, DATABASE_READ_URL: copy.database.url!, BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN }).then(
      () => 'listening',
      (err: Error) => err.message
    )
    t.match(started, /server exited with 1/, 'the service refuses to start (it used to listen, verify it and sign its export)')
    t.match(
      started,
      /failed to start: DATABASE_READ_URL \(PostgreSQL at [^)]+\) is not a streaming standby of DATABASE_URL: it is not in recovery/,
      'and says why'
    )
    await primary.close()
  }
)

t.test(
  'a standby that is promoted and written to is refused at verify, export and /readyz',
  { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' },
  async (t) => {
    const { standby, test } = await appWithStandby(t)
    for (let i = 0; i < 4; i += 1) t.equal((await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse(`M-fork-${i}`) })).statusCode, 201)
    t.equal((await test.request({ method: 'POST', url: '/v1/ledger/checkpoints' })).statusCode, 201)
    t.equal((await test.request({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready while the standby is one')

    // The standby leaves recovery and records an entry of its own: a fork of the primary's history.
    await standby.sql('SELECT pg_promote()', 'app')
    const forkDatabase = await Database.open({ url: standby.url('app'), dataDir: 'memory://', schema: 'public', poolSize: 2 })
    t.teardown(() => forkDatabase.close())
    const fork = await buildTestApp(t, { database: forkDatabase })
    t.equal((await fork.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-fork-made-up') })).statusCode, 201)

    const verify = await test.request({ method: 'GET', url: '/v1/ledger/verify?full=true' })
    const problem = assertProblem(t, verify, 503, 'verify')
    t.equal(problem.code, 'reader_not_standby', 'verify refuses the reader (it answered ok:true over the fork)')
    t.match(problem.detail, /not in recovery/)
    const metrics = parseExposition((await test.request({ method: 'GET', url: '/metrics', token: null })).body)
    t.equal(valueOf(metrics, 'shizenha_ledger_last_verify_ok'), undefined, 'shizenha_ledger_last_verify_ok did not become 1')
    const exported = await test.request({ method: 'GET', url: '/v1/ledger/export' })
    t.equal(assertProblem(t, exported, 503, 'export').code, 'reader_not_standby', 'no export, so no trailer signed over the fork')
    const ready = await test.request({ method: 'GET', url: '/readyz' })
    t.match(assertProblem(t, ready, 503, 'readyz').detail, /DATABASE_READ_URL is not a streaming standby of DATABASE_URL/, '/readyz shows it')
  }
)

t.test(
  "a standby of a fork proves its identity, but its heads are not the primary's: verify fails and the export is not signed",
  { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' },
  async (t) => {
    const primary = await PgCluster.create(t)
    await primary.start()
    await primary.sql('CREATE DATABASE app')
    const forked = await primary.standby(t)
    const database = await Database.open({ url: primary.url('app'), dataDir: 'memory://', schema: 'public', poolSize: 5 })
    const test = await buildTestApp(t, { database })
    t.teardown(() => database.close())
    for (let i = 0; i < 3; i += 1) t.equal((await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse(`M-fork-${i}`) })).statusCode, 201)
    for (let i = 0; i < 200 && Number((await forked.sql<{ n: string }>('SELECT count(*) AS n FROM ledger_entries', 'app'))[0]!.n) < 3; i += 1) await sleep(25)
    t.equal((await test.request({ method: 'POST', url: '/v1/ledger/checkpoints' })).statusCode, 201)

    // The fork records one entry of its own, then a standby is made of it: in recovery, with the
    // primary's system identifier (pg_basebackup copies it along), holding a history the primary never had.
    await forked.sql('SELECT pg_promote()', 'app')
    const forkDatabase = await Database.open({ url: forked.url('app'), dataDir: 'memory://', schema: 'public', poolSize: 2 })
    t.teardown(() => forkDatabase.close())
    const fork = await buildTestApp(t, { database: forkDatabase })
    t.equal((await fork.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-fork-0') })).statusCode, 201)
    const reader = await forked.standby(t)
    const withReader = await Database.open({ url: primary.url('app'), readUrl: reader.url('app'), dataDir: 'memory://', schema: 'public', poolSize: 5 })
    t.teardown(() => withReader.close())
    const app = await buildTestApp(t, { database: withReader })

    const report = (await app.request({ method: 'GET', url: '/v1/ledger/verify?full=true' })).json()
    t.equal(report.ok, false, 'verify fails')
    t.match(report.firstFailure.problem, /DATABASE_READ_URL does not hold the primary's ledger/)
    const trailer = JSON.parse((await app.request({ method: 'GET', url: '/v1/ledger/export' })).body.trim().split('\n').at(-1)!).trailer
    t.equal(trailer.note, null, 'the export is not signed')
    t.match(trailer.problem, /does not hold the primary's ledger/)
  }
)

t.test(
  'a role that may not call pg_control_system() is told the GRANT that lets it prove the standby; granted, the standby is accepted',
  { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' },
  async (t) => {
    const primary = await PgCluster.create(t)
    await primary.start()
    await primary.sql('CREATE DATABASE app')
    await primary.sql('REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC', 'app')
    await primary.sql('CREATE ROLE reader LOGIN')
    const standby = await primary.standby(t)
    const asReader = (url: string) => url.replace('postgres@', 'reader@')
    const open = () =>
      Database.open({ url: primary.url('app'), readUrl: asReader(standby.url('app')), dataDir: 'memory://', schema: 'public', poolSize: 2 }).then(
        async (database) => {
          await database.close()
          return null
        },
        (err: Error) => err
      )
    const refused = await open()
    t.type(refused, StartupError)
    t.equal((refused as StartupError | null)?.code, 'reader_refused')
    t.match(refused?.message, /GRANT EXECUTE ON FUNCTION pg_control_system\(\) TO/, 'naming the statement that fixes it')

    await primary.sql('GRANT EXECUTE ON FUNCTION pg_control_system() TO reader', 'app')
    const replayed = async () =>
      (await standby.sql<{ ok: boolean }>("SELECT has_function_privilege('reader', 'pg_control_system()', 'EXECUTE') AS ok", 'app'))[0]!.ok
    for (let i = 0; i < 200 && !(await replayed()); i += 1) await sleep(25)
    t.equal(await open(), null, 'the standby is accepted')
  }
)
