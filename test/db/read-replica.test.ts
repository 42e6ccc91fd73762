import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Database } from '../../src/db/database.js'
import { jointUse } from '../fixtures.js'
import { buildTestApp } from '../helper.js'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'

/**
 * DATABASE_READ_URL: ledger queries and provision records read from a streaming standby, while
 * everything that decides reads the primary. With the standby's replay paused, what it serves
 * stops moving while the primary goes on, which shows where each read goes.
 */
t.test(
  'reads that decide nothing go to the standby; decisions read the primary',
  { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' },
  async (t) => {
    const primary = await PgCluster.create(t)
    await primary.start()
    await primary.sql('CREATE DATABASE app')
    const standby = await primary.standby(t)
    const database = await Database.open({ url: primary.url('app'), readUrl: standby.url('app'), dataDir: 'memory://', schema: 'public', poolSize: 5 })
    const test = await buildTestApp(t, { database })
    t.teardown(() => database.close())

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
