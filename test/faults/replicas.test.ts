import t from 'tap'
import { Api, History, Load, auditLedger, backendsOf, exportLedger, mixedTransfer, waitFor } from '../support/history.js'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'
import { killServer, startServer } from '../support/server-process.js'

/**
 * Two replicas of the service append to one PostgreSQL database under load; one of them is
 * SIGKILLed midway and its callers go over to the other, retrying with the same keys. The chains
 * never fork, never skip, never hold a (chain, seq) twice; every acknowledged entry is there.
 */

const ADMIN = 'faults-replicas-admin-token-012345678'
const CALLERS = 64
const PREFIX = 'RP'

t.test(
  'two replicas under load, one SIGKILLed midway: no fork, no gap, no duplicate, every acknowledged entry present',
  { skip: postgresBinDir() === undefined ? 'no PostgreSQL server binaries (apt-get install postgresql-15)' : false },
  async (t) => {
    const cluster = await PgCluster.create(t)
    await cluster.start()
    await cluster.sql('CREATE DATABASE app')
    const env = { DATABASE_URL: cluster.url('app'), BOOTSTRAP_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' }
    // Started together: migrations and the bootstrap admin must cope with a twin doing the same.
    const replicas = await Promise.all([startServer(t, env), startServer(t, env)])
    const apis = replicas.map((r) => new Api(r.url, ADMIN))
    const [survivor, victim] = replicas
    const history = new History()
    let victimDead = false

    // Each caller has a home replica; once the victim is dead its callers use the survivor, as a
    // load balancer would send them.
    const load = new Load({ workers: CALLERS, maxOps: 8000, pauseAfterFailureMs: 100 }, (worker, n) => {
      const home = worker % 2 === 1 && !victimDead ? 1 : 0
      return history.transfer(apis[home]!, `caller-${worker}@replica-${home}`, mixedTransfer(`${PREFIX}-${n}`, n))
    })
    const ackedOn = (replica: number) => history.acknowledged().filter((op) => op.process.endsWith(`@replica-${replica}`)).length
    try {
      await waitFor('300 acknowledged transfers on each replica', () => ackedOn(0) >= 300 && ackedOn(1) >= 300, 90_000, 20)
      // Kill it with a group of its own inside its transaction, racing the survivor's groups.
      await waitFor('a group commit in flight', async () => (await backendsOf(cluster, 'app', 'xact_start IS NOT NULL')) > 0, 10_000, 2)
      await killServer(victim)
      victimDead = true
      const target = ackedOn(0) + 600
      await waitFor(`${target} acknowledged transfers on the survivor`, () => ackedOn(0) >= target, 90_000, 20)
    } finally {
      await load.stop()
    }
    t.equal(victim.child.signalCode, 'SIGKILL', 'one replica died of SIGKILL')
    t.equal(survivor.child.exitCode, null, 'the other one served on')
    t.ok(
      history.indeterminate().some((op) => op.process.endsWith('@replica-1')),
      'callers of the killed replica lost answers: the case under test'
    )

    const before = await exportLedger(apis[0]!)
    const report = await auditLedger(t, apis[0]!, history, before, (member) => member.startsWith(`${PREFIX}-`))
    t.ok(report.acknowledged >= 1200, `both replicas' acknowledgements were checked (${report.acknowledged})`)

    // The database itself holds no two entries at one (chain, seq), and every head is its chain's last entry.
    const [shape] = await cluster.sql<{ dup: number; heads_off: number }>(
      `SELECT (SELECT count(*)::int FROM (SELECT chain, seq FROM ledger_entries GROUP BY chain, seq HAVING count(*) > 1) d) AS dup,
              (SELECT count(*)::int FROM ledger_heads h WHERE h.seq <> (SELECT coalesce(max(seq), 0) FROM ledger_entries e WHERE e.chain = h.chain)) AS heads_off`,
      'app'
    )
    t.same(shape, { dup: 0, heads_off: 0 }, 'no duplicate (chain, seq) in the table, every head at its chain’s last entry')
  }
)
