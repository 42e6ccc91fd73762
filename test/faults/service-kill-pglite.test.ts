import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { Api, History, Load, auditLedger, burst, exportLedger, mixedTransfer, waitFor } from '../support/history.js'
import { killServer, startServer, stopServer, type ServerProcess } from '../support/server-process.js'

/**
 * The service on its embedded database (PGlite in the process, files under DATA_DIR) is SIGKILLed
 * with transfers in flight, right after a burst of acknowledged ones, and started again on the
 * same DATA_DIR: every acknowledged entry is there and the ledger verifies. PGlite's file system
 * layer writes with writeSync (into the OS page cache) and never fsyncs: a killed process loses
 * nothing it committed; an OS crash or a power loss could (README).
 */

const ADMIN = 'faults-kill-pglite-admin-token-01234'
/** Fewer than on PostgreSQL: PGlite works on the event loop, and the service sheds load when it lags. */
const CALLERS = 16
const ACKNOWLEDGED = 300

t.test('SIGKILL of the service on the embedded database (PGlite), right after a burst of acknowledged transfers', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-kill-'))
  const servers: ServerProcess[] = []
  // Every server is gone before its files are removed.
  t.teardown(async () => {
    await Promise.all(servers.map((s) => killServer(s)))
    await rm(dataDir, { recursive: true, force: true })
  })
  const env = { DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' }
  const history = new History()

  const first = await startServer(t, env)
  servers.push(first)
  const api1 = new Api(first.url, ADMIN)
  const load = new Load({ workers: CALLERS, maxOps: 4000, pauseAfterFailureMs: 200 }, (worker, n) =>
    history.transfer(api1, `caller-${worker}`, mixedTransfer(`PK-${n}`, n))
  )
  t.comment(`first server up at ${history.now()} ms`)
  // The kill comes the moment the 300th acknowledgement is in, with the other callers' requests in flight.
  await waitFor(`${ACKNOWLEDGED} acknowledged transfers`, () => history.acknowledgedCount >= ACKNOWLEDGED, 120_000, 1)
  await killServer(first)
  await load.stop()
  t.equal(first.child.signalCode, 'SIGKILL', 'the server died of SIGKILL')

  t.comment(`killed at ${history.now()} ms`)
  const second = await startServer(t, env)
  servers.push(second)
  t.comment(`second server up at ${history.now()} ms`)
  const api2 = new Api(second.url, ADMIN)
  t.equal((await fetch(`${second.url}/readyz`)).status, 200, 'it starts again on the same DATA_DIR (the dead process’s lock is taken over)')
  // The chains go on; a transfer shed as overloaded (503) is retried by the audit like any other.
  const after = await burst(history, api2, 'PK-D', CALLERS)
  t.ok(
    after.some((op) => op.type === 'ok'),
    'new transfers are acknowledged after the restart'
  )
  t.notOk(
    after.some((op) => op.type === 'fail'),
    'none is refused'
  )
  const before = await exportLedger(api2)
  t.comment(`audit from ${history.now()} ms`)
  await auditLedger(t, api2, history, before, (member) => member.startsWith('PK-'))
  t.equal(await stopServer(second), 0, 'SIGTERM closes the restarted server gracefully')
})
