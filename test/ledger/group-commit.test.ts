import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import t from 'tap'
import { GroupCommitter } from '../../src/ledger/group-commit.js'
import { LedgerWriter } from '../../src/ledger/writer.js'
import { openTestDatabase } from '../helper.js'

// A decision must be timed after the member's chain is locked: a withdrawal committed while the
// decision waited for the lock then always lies before the decision's time, never after it.
t.test('the time a recorded act uses is read only once the chain lock is held', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger

  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let locked!: () => void
  const lockTaken = new Promise<void>((resolve) => (locked = resolve))
  const holder = database.transaction(async (tx) => {
    await LedgerWriter.lock(tx, ['M-CLOCK'])
    locked()
    await held
  })
  await lockTaken

  let clockReadAt: number | undefined
  const committer = new GroupCommitter<string, Date>(
    database,
    () => {
      clockReadAt = Date.now()
      return new Date(clockReadAt)
    },
    log,
    async (_tx, _ledger, now, jobs) => jobs.map(() => ({ ok: true as const, value: now })),
    { maxGroupEntries: 10, maxQueuedEntries: 10 }
  )
  const waiting = committer.submit('act', ['M-CLOCK'], 1)

  await sleep(300)
  t.equal(clockReadAt, undefined, 'no time is read while another writer holds the chain')
  const releasedAt = Date.now()
  release()
  await holder
  const now = await waiting
  t.ok(clockReadAt !== undefined && clockReadAt >= releasedAt, 'the time is read after the lock was released')
  t.equal(now.getTime(), clockReadAt, 'the work gets that time')
})
