import t from 'tap'
import { Api, History, Load, auditLedger, backendsOf, exportLedger, mixedTransfer, sleep, waitFor } from '../support/history.js'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'
import { startServer } from '../support/server-process.js'

/**
 * PostgreSQL crashes (every backend killed at once, crash recovery on the next start) while 64
 * callers send transfers with Idempotency-Keys to the real server, twice: once while a group is
 * inside its transaction, once while a group's commit is durable but not yet answered. Afterwards
 * every 201 and 403 is in the ledger as answered, every entry is accounted for (an acknowledged
 * transfer, or a 503 whose retry with the same key answers with exactly that entry), the chains
 * verify, and the same service process served again once PostgreSQL was back.
 */

const ADMIN = 'faults-dbcrash-admin-token-0123456789'
const CALLERS = 64
const CRASHES = 2
/** Acknowledged transfers to wait for before each crash, and after the last recovery. */
const ACKS_BETWEEN = 250
const OUTAGE_MS = 1500
const MAX_OPS = 8000
const PREFIX = 'DC'

async function readyStatus(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) })).status
}

t.test(
  'PostgreSQL crashes under 64 concurrent transfers: nothing acknowledged is lost, nothing unacknowledged appears, the service recovers by itself',
  { skip: postgresBinDir() === undefined ? 'no PostgreSQL server binaries (apt-get install postgresql-15)' : false },
  async (t) => {
    const cluster = await PgCluster.create(t)
    await cluster.start()
    await cluster.sql('CREATE DATABASE app')
    const server = await startServer(t, { DATABASE_URL: cluster.url('app'), BOOTSTRAP_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: '10' })
    const api = new Api(server.url, ADMIN)
    const history = new History()
    const acks = () => history.acknowledgedCount
    let recoveredAt = 0

    const load = new Load({ workers: CALLERS, maxOps: MAX_OPS, pauseAfterFailureMs: 250 }, (worker, n) =>
      history.transfer(api, `caller-${worker}`, mixedTransfer(`${PREFIX}-${n}`, n))
    )
    try {
      for (let crash = 1; crash <= CRASHES; crash++) {
        const target = acks() + ACKS_BETWEEN
        await waitFor(`${target} acknowledged transfers`, () => acks() >= target, 60_000, 20)
        if (crash === 1) {
          // Crash while a group is inside its transaction, so that some callers are mid-commit.
          await waitFor('a group commit in flight', async () => (await backendsOf(cluster, 'app', 'xact_start IS NOT NULL')) > 0, 10_000, 5)
        } else {
          // Crash while a group's COMMIT is durable but not yet answered: a synchronous standby
          // that does not exist holds every commit after its WAL is flushed. Those callers lose
          // their connection with the commit done; recovery replays it.
          await cluster.configure({ synchronous_standby_names: 'nobody' })
          await cluster.reload()
          await waitFor(
            'a commit waiting for the (absent) synchronous standby',
            async () => (await backendsOf(cluster, 'app', "wait_event = 'SyncRep'")) > 0,
            10_000,
            5
          )
        }
        await cluster.crash()
        if (crash !== 1) await cluster.configure({ synchronous_standby_names: '' })
        const crashedAt = history.now()
        t.equal(await readyStatus(server.url), 503, `crash ${crash}: /readyz is 503 while PostgreSQL is down`)
        t.equal((await fetch(`${server.url}/healthz`)).status, 200, `crash ${crash}: /healthz stays 200`)
        await sleep(OUTAGE_MS)
        t.equal(await readyStatus(server.url), 503, `crash ${crash}: /readyz is still 503 at the end of the outage`)
        const restartAt = history.now()
        await cluster.start()
        const status = await waitFor('/readyz 200 after the restart', async () => (await readyStatus(server.url)) === 200 && 200, 60_000, 100)
        t.equal(status, 200, `crash ${crash}: /readyz is 200 again without restarting the service`)
        recoveredAt = history.now()
        // Fail closed: a call made and answered while PostgreSQL was down is a 503, never an acknowledgement.
        const during = history.ops.filter((op) => op.invokedAt >= crashedAt && op.completedAt !== undefined && op.completedAt <= restartAt)
        t.ok(during.length > 0, `crash ${crash}: ${during.length} calls were answered during the outage`)
        t.same([...new Set(during.map((op) => op.first!.status))], [503], `crash ${crash}: every one of them was a 503`)
      }
      const target = acks() + ACKS_BETWEEN
      await waitFor(`${target} acknowledged transfers after the last recovery`, () => acks() >= target, 60_000, 20)
    } finally {
      await load.stop()
    }
    t.notOk(load.exhausted, 'the load ran until stopped, not out of operations')
    t.equal(server.child.exitCode, null, 'the same server process served throughout')
    t.ok(history.indeterminate('transfer').length > 0, 'the crashes left callers without an answer (503): the case under test')

    const afterRecovery = history.acknowledged().filter((op) => op.invokedAt > recoveredAt)
    t.ok(afterRecovery.length >= ACKS_BETWEEN, `new transfers were acknowledged after the last recovery (${afterRecovery.length}), by the same process`)

    const before = await exportLedger(api)
    const report = await auditLedger(t, api, history, before, (member) => member.startsWith(`${PREFIX}-`))
    t.ok(report.acknowledged >= (CRASHES + 1) * ACKS_BETWEEN, 'enough acknowledged transfers to mean something')
    t.ok(report.committedUnanswered > 0, 'some transfers were committed but answered 503 (the second crash): their retries replayed the recorded entry')
    t.equal(server.child.exitCode, null, 'the server process is still the first one')
  }
)
