import Fastify from 'fastify'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { Api, History, allowedTransfer, auditLedger, exportLedger, mixedTransfer, sleep, waitFor, type Op } from '../support/history.js'
import { PgCluster } from '../support/pg-cluster.js'
import { startServer } from '../support/server-process.js'
import { Database } from '../../src/db/database.js'
import errors from '../../src/plugins/errors.js'
import loadShedding from '../../src/plugins/load-shedding.js'
import { buildTestApp } from '../helper.js'
import { NO_CLUSTER, TEST_TIMEOUT_MS, assertUnavailable, holdChainHeads, storedMembers } from './fault-helpers.js'

/**
 * A database that stalls must cost callers a bounded wait and a 503, never a hang: a chain head
 * locked by another session (lock_timeout), PostgreSQL frozen outright (SIGSTOP: only this side's
 * query and connect time-outs can fire), and then the pool serves again by itself. Saturation is
 * shed early: a full ledger queue (503 ledger_busy) and a lagging event loop (503 overloaded).
 */

const ADMIN = 'faults-stall-admin-token-0123456789ab'
const LOCK_TIMEOUT_MS = 1_500
const STATEMENT_TIMEOUT_MS = 3_000
const QUERY_TIMEOUT_MS = 4_000
const CONNECT_TIMEOUT_MS = 2_000
const TIMEOUTS = {
  DATABASE_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS),
  DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
  DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS)
}

async function startCluster(t: Test): Promise<PgCluster> {
  const cluster = await PgCluster.create(t)
  await cluster.start()
  await cluster.sql('CREATE DATABASE app')
  return cluster
}

function elapsed(op: Op): number {
  return op.completedAt! - op.invokedAt
}

/** Every op was answered 503 `code`, each within `boundMs`. */
function assertRefusedWithin(t: Test, ops: readonly Op[], code: RegExp, boundMs: number, what: string): void {
  for (const op of ops) {
    t.ok(op.first?.status === 503 && code.test(op.first.detail ?? ''), `${what} ${op.members[0]}: ${op.first?.status} ${op.first?.detail ?? ''}`)
    t.ok(elapsed(op) < boundMs, `${what} ${op.members[0]}: answered in ${elapsed(op)} ms (bound ${boundMs} ms)`)
  }
}

t.test(
  'a ledger head locked by another session: 503 within the lock timeout, nothing recorded, served again once the lock is gone',
  { skip: NO_CLUSTER, timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const cluster = await startCluster(t)
    const server = await startServer(t, { DATABASE_URL: cluster.url('app'), BOOTSTRAP_ADMIN_TOKEN: ADMIN, ...TIMEOUTS })
    const api = new Api(server.url, ADMIN)
    const history = new History()
    t.equal((await history.transfer(api, 'warm-up', allowedTransfer('LK-warm'))).first?.status, 201, 'a transfer is recorded before the stall')

    const lock = await holdChainHeads(t, cluster, 'app')
    const stalled = await Promise.all(Array.from({ length: 6 }, (_, i) => history.transfer(api, `caller-${i}`, mixedTransfer(`LK-${i}`, i))))
    // One group waits for the lock, the rest queue behind it as the next group: two lock waits at most.
    assertRefusedWithin(t, stalled, /^ledger_unavailable$/, 2 * LOCK_TIMEOUT_MS + 2_000, 'transfer while the head is locked:')
    const reply = await api.call('POST', '/v1/transfers', allowedTransfer('LK-shape'))
    assertUnavailable(t, reply, 'ledger_unavailable', 'a transfer while the head is locked')
    t.equal((await api.call('GET', '/v1/ledger?limit=5')).status, 200, 'reads go on: they take no chain lock')
    t.equal((await api.call('GET', '/readyz')).status, 200, '/readyz stays 200: the database answers')
    t.match(server.output(), /"code":"55P03"/, 'the log names the lock time-out (SQLSTATE 55P03)')
    t.same(await storedMembers(cluster, 'app'), ['LK-warm'], 'nothing was recorded for the refused transfers')

    await lock.release()
    const after = await history.transfer(api, 'after', allowedTransfer('LK-after'))
    t.equal(after.first?.status, 201, 'a transfer is recorded once the lock is gone, by the same process')
    const report = await auditLedger(t, api, history, await exportLedger(api), (m) => m.startsWith('LK-'))
    t.equal(report.committedUnanswered, 0, 'no refused transfer had been recorded: a 503 here meant "not recorded"')
    t.equal(server.child.exitCode, null, 'the same process served throughout')
  }
)

t.test(
  'PostgreSQL frozen (SIGSTOP): 503 within the client-side bounds, /readyz 503 within 2 s, and the pool recovers on SIGCONT',
  { skip: NO_CLUSTER, timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const cluster = await startCluster(t)
    const server = await startServer(t, { DATABASE_URL: cluster.url('app'), BOOTSTRAP_ADMIN_TOKEN: ADMIN, ...TIMEOUTS })
    const api = new Api(server.url, ADMIN)
    const history = new History()
    t.equal((await history.transfer(api, 'warm-up', allowedTransfer('FZ-warm'))).first?.status, 201, 'a transfer is recorded before the freeze')

    cluster.pause()
    // Thawed before the server is stopped (teardowns run last-registered first), even on a failure.
    t.teardown(() => {
      if (cluster.pid() !== undefined) cluster.resume()
    })
    const frozenAt = Date.now()
    const [stalled, read, ready] = await Promise.all([
      Promise.all(Array.from({ length: 4 }, (_, i) => history.transfer(api, `caller-${i}`, mixedTransfer(`FZ-${i}`, i)))),
      api.call('GET', '/v1/recipients'),
      api.call('GET', '/readyz')
    ])
    // A group's first query has QUERY_TIMEOUT_MS (or, on a fresh connection, CONNECT_TIMEOUT_MS);
    // the transfers queued behind it form one more group.
    assertRefusedWithin(t, stalled, /^(ledger|database)_unavailable$/, 2 * QUERY_TIMEOUT_MS + 2_000, 'transfer while PostgreSQL is frozen:')
    assertUnavailable(t, read, 'database_unavailable', 'GET /v1/recipients while PostgreSQL is frozen')
    assertUnavailable(t, ready, 'not_ready', '/readyz while PostgreSQL is frozen')
    t.equal((await api.call('GET', '/healthz')).status, 200, '/healthz: the process itself is up')
    t.ok(Date.now() - frozenAt < 2 * QUERY_TIMEOUT_MS + 4_000, 'every caller had its answer within the bound')
    // The comment above: a group that had to open a connection meets the connect timeout instead.
    t.match(
      server.output(),
      /Query read timeout: PostgreSQL did not answer within 4000 ms|Connection terminated due to connection timeout/,
      'the log says the server did not answer'
    )

    cluster.resume()
    const recovered = await waitFor(
      'a transfer to be recorded after SIGCONT',
      async () => {
        const op = await history.transfer(api, 'after', allowedTransfer(`FZ-after-${history.ops.length}`))
        return op.first?.status === 201 ? op : undefined
      },
      30_000,
      250
    )
    t.equal(recovered.first?.status, 201, 'the pool serves again without a restart')
    t.equal((await api.call('GET', '/readyz')).status, 200, '/readyz is 200 again')
    const report = await auditLedger(t, api, history, await exportLedger(api), (m) => m.startsWith('FZ-'))
    t.equal(report.committedUnanswered, 0, 'no refused transfer had been recorded: the frozen server never saw a COMMIT')
    t.equal(server.child.exitCode, null, 'the same process served throughout')
  }
)

t.test(
  'a full ledger queue: further acts get 503 ledger_busy with Retry-After at once, the queued ones are recorded',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const test = await buildTestApp(t, { config: { ledgerMaxQueuedEntries: 1 } })
    const transfer = (memberId: string) => test.request({ method: 'POST', url: '/v1/transfers', payload: allowedTransfer(memberId) })
    // The token is looked up once and cached: on the embedded database the held transaction below
    // has the only connection.
    t.equal((await transfer('QB-warm')).statusCode, 201, 'a transfer is recorded before the queue fills')
    // Hold every chain head in a transaction of the test's own, so the committer waits with a full queue.
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    // Should an assertion throw, the app must still be able to drain and close.
    t.teardown(() => release())
    let locked!: () => void
    const lockTaken = new Promise<void>((resolve) => (locked = resolve))
    const holder = test.database.transaction(async (tx) => {
      await tx.selectFrom('ledger_heads').select('chain').forUpdate().execute()
      locked()
      await held
    })
    await lockTaken
    const committing = transfer('QB-0')
    await sleep(200)
    const queued = transfer('QB-1')
    await sleep(200)
    const startedAt = Date.now()
    const refused = await Promise.all([
      transfer('QB-2'),
      transfer('QB-3'),
      test.request({ method: 'POST', url: '/v1/transfers/batch', payload: { items: [allowedTransfer('QB-4')] } })
    ])
    const tookMs = Date.now() - startedAt
    for (const res of refused) {
      t.equal(res.statusCode, 503, 'refused: 503')
      t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json')
      t.match(String(res.headers['retry-after']), /^\d+$/, 'with Retry-After')
      t.match(res.json(), { type: /\/ledger_busy$/, status: 503 }, 'ledger_busy')
    }
    t.ok(tookMs < 1_000, `refused at once, without waiting for the queue (${tookMs} ms)`)
    release()
    await holder
    t.equal((await committing).statusCode, 201, 'the act that was committing is recorded')
    t.equal((await queued).statusCode, 201, 'the act that was queued is recorded')
    const rows = await test.database.db.selectFrom('ledger_entries').select('member_id').execute()
    t.same(rows.map((r) => r.member_id).sort(), ['QB-0', 'QB-1', 'QB-warm'], 'only the accepted acts are in the ledger')
  }
)

t.test(
  'a lagging event loop: requests get 503 overloaded with Retry-After, /healthz stays 200, served again once it is calm',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    // The plugin on its own (the app turns the check on for PostgreSQL only: on the embedded database
    // the lag is the database's own work), with the service's error handler.
    const app = Fastify({ logger: false })
    await app.register(errors)
    await app.register(loadShedding, { maxEventLoopDelayMs: 100 })
    app.get('/healthz', async () => ({ status: 'ok' }))
    app.get('/work', async () => ({ done: true }))
    await app.ready()
    t.teardown(() => app.close())
    const work = () => app.inject({ method: 'GET', url: '/work' })
    t.equal((await work()).statusCode, 200, 'served while the loop is calm')

    // Keep the loop busy (300 ms blocks with a breath between) until the lag shows; a bounded wait.
    const deadline = Date.now() + 10_000
    let refused
    while (Date.now() < deadline) {
      const until = Date.now() + 300
      while (Date.now() < until) {
        // Busy: this is the saturation.
      }
      await sleep(5)
      const res = await work()
      if (res.statusCode === 503) {
        refused = res
        break
      }
    }
    t.ok(refused, 'a request is refused while the loop lags')
    if (refused) {
      t.match(refused.headers['content-type'], /^application\/problem\+json/, 'problem+json')
      t.match(String(refused.headers['retry-after']), /^\d+$/, 'with Retry-After')
      t.match(refused.json(), { type: /\/overloaded$/, status: 503, title: 'Service Unavailable' }, 'overloaded')
      t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, '/healthz answers even then: the process is alive')
    }
    const served = await waitFor('the lag to pass', async () => ((await work()).statusCode === 200 ? true : undefined), 5_000, 100)
    t.ok(served, 'served again once the loop is calm')
  }
)

t.test(
  'migrations run without the bounds: two instances migrating at once under 100 ms timeouts both start, and pooled sessions keep their bounds',
  { skip: NO_CLUSTER, timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const cluster = await startCluster(t)
    const timeouts = { statementMs: 100, lockMs: 100, idleInTransactionMs: 1_000, connectMs: 2_000, queryMs: 2_000 }
    const open = () => Database.open({ url: cluster.url('app'), dataDir: 'memory://', schema: 'public', poolSize: 4, timeouts })
    const [a, b] = await Promise.all([open(), open()])
    t.teardown(() => Promise.all([a.close(), b.close()]))
    // The second waits for the first one's migration lock far longer than 100 ms.
    const results = await Promise.allSettled([a.migrateToLatestOrThrow(), b.migrateToLatestOrThrow()])
    t.same(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled'],
      'both migrated (one ran the migrations, the other waited for its lock)'
    )
    t.ok(await a.isMigrated(), 'the schema is complete')
    const settings = await Promise.all(
      Array.from({ length: 8 }, () =>
        sql<{ s: string; l: string }>`SELECT current_setting('statement_timeout') AS s, current_setting('lock_timeout') AS l`.execute(a.db)
      )
    )
    t.same(
      [...new Set(settings.map((r) => `${r.rows[0]!.s} ${r.rows[0]!.l}`))],
      ['100ms 100ms'],
      'every pooled session has its bounds: the migration session was not reused'
    )
    const slow = await sql`SELECT pg_sleep(1)`.execute(a.db).then(
      () => 'finished',
      (err: { code?: string }) => err.code
    )
    t.equal(slow, '57014', 'a statement past statement_timeout is cancelled by the server')
  }
)
