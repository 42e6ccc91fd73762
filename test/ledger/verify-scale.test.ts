import t from 'tap'
import { countEntries, jointUse } from '../fixtures.js'
import { DATABASE_KIND } from '../helper.js'
import { appWithKey, fillLedger, takeCheckpoint } from './verify-support.js'

/**
 * Verify on a ledger of many entries, filled fast with valid chains (verify-support.ts): a full
 * verify, a routine one after the ledger grew past its last verified checkpoint, and writers
 * going on meanwhile. The sizes are small by default; for the figures in BENCHMARKS.md run
 *   VERIFY_SCALE_ENTRIES=200000 VERIFY_SCALE_GROWTH=10000 npx tap test/ledger/verify-scale.test.ts
 * on each database and read the comments.
 */
const ENTRIES = Number(process.env.VERIFY_SCALE_ENTRIES ?? 20_000)
const GROWTH = Number(process.env.VERIFY_SCALE_GROWTH ?? 2_000)

const rate = (entries: number, ms: number) => `${entries} entries in ${(ms / 1000).toFixed(2)} s = ${Math.round(entries / (ms / 1000))} entries/s`

t.test(`verify of ${ENTRIES} entries, then of ${GROWTH} more since a checkpoint (${DATABASE_KIND})`, async (t) => {
  const test = await appWithKey(t)
  const service = test.app.checkpoints
  const fill = await fillLedger(test, ENTRIES)
  t.comment(`filled ${ENTRIES} entries: hashing ${fill.hashSeconds.toFixed(1)} s, inserting ${fill.insertSeconds.toFixed(1)} s`)
  const total = await countEntries(test)

  let began = performance.now()
  const full = await service.verify(true)
  const fullMs = performance.now() - began
  t.equal(full.ok, true, JSON.stringify(full.firstFailure ?? {}))
  t.equal(full.entriesChecked, total, 'every entry')
  t.comment(`full verify: ${rate(full.entriesChecked, fullMs)}`)

  const checkpoint = await takeCheckpoint(test)
  t.equal((await service.verify(true)).ok, true, 'verified up to the checkpoint')
  await fillLedger(test, GROWTH)
  const grown = (await countEntries(test)) - checkpoint.treeSize

  began = performance.now()
  const routine = await service.verify(false)
  const routineMs = performance.now() - began
  t.equal(routine.ok, true, JSON.stringify(routine.firstFailure ?? {}))
  t.equal(routine.mode, 'incremental')
  t.equal(routine.from?.id, checkpoint.id)
  t.equal(routine.entriesChecked, grown, 'only the entries since the checkpoint')
  t.comment(`routine verify after ${grown} new entries: ${rate(routine.entriesChecked, routineMs)} (ledger of ${total + grown})`)
})

t.test('writers are not held back while verify runs', async (t) => {
  const test = await appWithKey(t)
  await fillLedger(test, Math.min(ENTRIES, 30_000))
  // The fill itself blocks the event loop (PGlite inserts on this thread); the load shedder
  // refuses requests until a calm second has been measured.
  await new Promise((resolve) => setTimeout(resolve, 2_500))
  const events: string[] = []
  const verifying = test.app.checkpoints.verify(true).then((report) => {
    events.push('verify')
    return report
  })
  // Let the walk start, then append while it runs.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const writes = Array.from({ length: 5 }, (_, i) =>
    test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse(`M-W-${i}`, 'delivery') }).then((res) => {
      events.push('write')
      if (res.statusCode !== 201) t.comment(res.body)
      return res.statusCode
    })
  )
  const [report, statuses] = await Promise.all([verifying, Promise.all(writes)])
  t.equal(report.ok, true)
  t.same(statuses, [201, 201, 201, 201, 201])
  t.same(events.slice(0, 5), ['write', 'write', 'write', 'write', 'write'], `the appends finished before the verify did (${events.join(', ')})`)
})
