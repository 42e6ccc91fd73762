import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Database } from '../../src/db/database.js'
import { jointUse, type Tap } from '../fixtures.js'
import { buildTestApp, type TestApp } from '../helper.js'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'

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
