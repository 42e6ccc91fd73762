import pg from 'pg'
import t from 'tap'
import {
  Api,
  History,
  Load,
  auditLedger,
  backendsOf,
  burst,
  exportLedger,
  mixedTransfer,
  sleep,
  waitFor,
  type LedgerEntry,
  type Op
} from '../support/history.js'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'
import { killServer, startServer, stopServer, type ServerProcess } from '../support/server-process.js'

/**
 * The service is SIGKILLed (no graceful close, no answer to anyone in flight) and started again on
 * the same database: nothing acknowledged is lost, a group or a 1000-item batch is in the ledger
 * whole or not at all, and the chains go on where they stopped.
 */

const ADMIN = 'faults-kill-admin-token-0123456789ab'
const CALLERS = 64
const BATCH = 1000
const NO_BINARIES = postgresBinDir() === undefined ? 'no PostgreSQL server binaries (apt-get install postgresql-15)' : false

function batchItems(prefix: string): { memberId: string }[] {
  return Array.from({ length: BATCH }, (_, i) => mixedTransfer(`${prefix}-${i}`, i))
}

/** How many of an operation's members have an entry in `entries`. */
function present(op: Op, entries: readonly LedgerEntry[]): number {
  const members = new Set(op.members)
  return entries.filter((e) => members.has(e.memberId)).length
}

t.test(
  'SIGKILL of the service on PostgreSQL: mid group commit under load, with a batch waiting on a lock, with a batch committed but unanswered',
  { skip: NO_BINARIES },
  async (t) => {
    const cluster = await PgCluster.create(t)
    await cluster.start()
    await cluster.sql('CREATE DATABASE app')
    const env = { DATABASE_URL: cluster.url('app'), BOOTSTRAP_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' }
    const history = new History()
    const start = async () => {
      const server = await startServer(t, env)
      return { server, api: new Api(server.url, ADMIN) }
    }
    const kill = async (server: ServerProcess) => {
      await killServer(server)
      t.equal(server.child.signalCode, 'SIGKILL', 'the server died of SIGKILL')
    }

    // A: at a random moment of a group commit, 64 callers busy and a 1000-item batch sent.
    let { server, api } = await start()
    const load = new Load({ workers: CALLERS, maxOps: 6000, pauseAfterFailureMs: 100 }, (worker, n) =>
      history.transfer(api, `A-caller-${worker}`, mixedTransfer(`SK-A-${n}`, n))
    )
    await waitFor('300 acknowledged transfers', () => history.acknowledgedCount >= 300, 60_000, 20)
    const batchA = history.batch(api, 'A-batcher', batchItems('SK-BA'))
    // Aim for the batch's group (a long transaction); failing that, any group in its transaction.
    const longGroup = "xact_start < clock_timestamp() - interval '30 milliseconds'"
    await waitFor('a long group commit in flight', async () => (await backendsOf(cluster, 'app', longGroup)) > 0, 3_000, 2).catch(() =>
      waitFor('a group commit in flight', async () => (await backendsOf(cluster, 'app', 'xact_start IS NOT NULL')) > 0, 10_000, 2)
    )
    await kill(server)
    await load.stop()
    const killedA = await batchA
    const ackedA = history.acknowledged().length
    t.ok(history.indeterminate().length > 0, `A: callers in flight lost their answer (${history.indeterminate().length})`)

    // B: the batch's transaction waits for the chain locks (held by another session) when the
    // process dies: nothing of it may commit.
    ;({ server, api } = await start())
    const locker = new pg.Client({ connectionString: cluster.url('app') })
    locker.on('error', () => {})
    await locker.connect()
    t.teardown(() => locker.end().catch(() => {}))
    await locker.query('BEGIN')
    await locker.query('SELECT chain FROM ledger_heads FOR UPDATE')
    const batchB = history.batch(api, 'B-batcher', batchItems('SK-BB'))
    await waitFor('the batch waiting for the chain locks', async () => (await backendsOf(cluster, 'app', "wait_event_type = 'Lock'")) > 0, 10_000, 5)
    const queuedB = burst(history, api, 'SK-B', CALLERS)
    await sleep(200)
    await kill(server)
    await locker.query('ROLLBACK')
    const [killedB] = await Promise.all([batchB, queuedB])

    // C: the batch's COMMIT is durable but unanswered (held for a synchronous standby that does
    // not exist) when the process dies; 64 transfers queue behind it in the process.
    ;({ server, api } = await start())
    await cluster.configure({ synchronous_standby_names: 'nobody' })
    await cluster.reload()
    await waitFor(
      'the synchronous standby setting in force',
      async () => (await cluster.sql<{ s: string }>("SELECT current_setting('synchronous_standby_names') AS s"))[0]?.s === 'nobody',
      10_000
    )
    const batchC = history.batch(api, 'C-batcher', batchItems('SK-BC'))
    await waitFor('the batch commit waiting for the standby', async () => (await backendsOf(cluster, 'app', "wait_event = 'SyncRep'")) > 0, 10_000, 5)
    const queuedC = burst(history, api, 'SK-C', CALLERS)
    await sleep(200)
    await kill(server)
    await cluster.configure({ synchronous_standby_names: '' })
    await cluster.reload()
    await waitFor('the held commit released', async () => (await backendsOf(cluster, 'app', "wait_event = 'SyncRep'")) === 0, 10_000)
    const [killedC] = await Promise.all([batchC, queuedC])

    // Started again on the same database: the chains go on.
    ;({ server, api } = await start())
    const after = await burst(history, api, 'SK-D', CALLERS)
    t.ok(
      after.some((op) => op.type === 'ok'),
      'after the restarts new transfers are acknowledged'
    )
    t.notOk(
      after.some((op) => op.type === 'fail'),
      'none is refused (a 503 would be retried by the audit)'
    )
    const before = await exportLedger(api)
    t.same([killedB.type, present(killedB, before)], ['info', 0], 'B: the batch killed while waiting for its locks left no entry')
    t.same([killedC.type, present(killedC, before)], ['info', BATCH], 'C: the batch committed before the kill is there whole')
    const outcomeA = present(killedA, before)
    t.ok(
      outcomeA === 0 || outcomeA === BATCH,
      `A: the batch in flight at the kill is there whole or not at all (${outcomeA} of ${BATCH}, answered ${killedA.first?.status})`
    )
    const report = await auditLedger(t, api, history, before, (member) => member.startsWith('SK-'))
    t.ok(report.acknowledged >= ackedA + CALLERS, 'the acknowledged transfers of every phase were checked')
    t.ok(report.recordedByRetry >= 2 * CALLERS, 'the transfers queued in a killed process were recorded once, by their retry')
    // The batches carry Idempotency-Keys: the one committed but unanswered was answered by its retry
    // with its own 1000 entries (checked against the ledger above), not recorded again.
    const retriedC = killedC.retries.find((a) => a.entries !== undefined)
    t.same([retriedC?.replayed, retriedC?.entries?.length], [true, BATCH], 'C: the retry of the committed batch replayed its entries')
    t.same(killedB.retries.find((a) => a.entries !== undefined)?.replayed, false, 'B: the retry of the batch that left nothing recorded it')
    await stopServer(server)
  }
)
