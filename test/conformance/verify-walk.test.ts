import { sql } from 'kysely'
import t from 'tap'
import type { StorageCapabilities } from '../../src/db/capabilities.js'
import type { Database } from '../../src/db/database.js'
import { sqlState } from '../../src/db/errors.js'
import { verifyLedger, type VerifyReport } from '../../src/ledger/verify-walk.js'
import { LedgerWriter } from '../../src/ledger/writer.js'
import { forEachBackend } from './backends.js'

/**
 * The verify walk on every backend: a clean ledger verifies whatever the page size (here far
 * smaller than the ledger, so it is walked over many pages), a walk holds up no writer (on
 * PostgreSQL it reads one snapshot on a connection of its own, on PGlite statement by statement),
 * and an entry altered behind the service's back with SQL is found at its chain and seq with
 * what is wrong with it, the other chains still verifying.
 */

const ENTRIES = 300
const MEMBERS = Array.from({ length: 12 }, (_, i) => `M-verify-${i}`)

async function append(database: Database, count: number, from: number): Promise<void> {
  await database.transaction(async (tx) => {
    const memberIds = Array.from({ length: count }, (_, k) => MEMBERS[(from + k) % MEMBERS.length]!)
    const ledger = await LedgerWriter.lock(tx, memberIds, { copy: database.capabilities.copy })
    await ledger.startSending()
    for (const [k, memberId] of memberIds.entries()) {
      const i = from + k
      ledger.append(
        {
          kind: 'decision',
          memberId,
          clientId: 'client-verify',
          providerId: 'shizenha',
          channel: 'joint_use',
          decision: i % 2 === 0 ? 'allow' : 'deny',
          body: { i, note: `entry ${i}` }
        },
        new Date(Date.UTC(2026, 11, 1) + i * 1000)
      )
    }
    await ledger.flush()
  })
}

function walk(database: Database, storage: Pick<StorageCapabilities, 'pageRows' | 'overlappingCommits'> = database.capabilities): Promise<VerifyReport> {
  return verifyLedger(database.db, storage, async () => ({ checkpoints: [] })).then((r) => r.report)
}

async function heads(database: Database): Promise<{ chain: number; seq: number; hash: string }[]> {
  return database.db.selectFrom('ledger_heads').select(['chain', 'seq', 'hash']).orderBy('chain').execute()
}

forEachBackend(t, async (t, backend) => {
  const database = await backend.open(t)
  const db = database.db
  for (let from = 0; from < ENTRIES; from += 100) await append(database, 100, from)
  const small = { pageRows: 7, overlappingCommits: database.capabilities.overlappingCommits }

  t.test('a clean ledger verifies, in pages of the backend’s size and in pages of 7 rows', async (t) => {
    const own = await walk(database)
    t.match(own, { ok: true, mode: 'full', entriesChecked: ENTRIES }, `in pages of ${database.capabilities.pageRows} rows`)
    t.notOk(own.firstFailure, 'no failure')
    t.same(
      own.chains.map((c) => ({ chain: c.chain, seq: c.length, hash: c.headHash })),
      await heads(database),
      'each chain verified up to its head'
    )
    t.ok(own.chains.filter((c) => c.length > 0).length >= 5, 'the entries are spread over several chains')
    const paged = await walk(database, small)
    const stored = await db
      .selectFrom('ledger_entries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    t.ok(stored.n > small.pageRows * 10, `the ledger holds many pages of 7 rows (${stored.n} rows)`)
    t.same(paged, own, 'walked in pages of 7 rows, the report is the same')
  })

  t.test('a walk holds up no writer, and sees the ledger as it stood when it began', async (t) => {
    const tiny = { pageRows: 3, overlappingCommits: database.capabilities.overlappingCommits }
    // The walk's queries go through a plugin that says when ten of them have been answered.
    let answered = 0
    let begun!: () => void
    const walkBegun = new Promise<void>((resolve) => (begun = resolve))
    const watched = db.withPlugin({
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        if (++answered === 10) begun()
        return args.result
      }
    })
    let verifiedAt = 0
    const walking = verifyLedger(watched, tiny, async () => ({ checkpoints: [] })).then(({ report }) => {
      verifiedAt = performance.now()
      return report
    })
    await walkBegun
    const answeredBefore = answered
    await append(database, 3, ENTRIES)
    const writtenAt = performance.now()
    const answeredMeanwhile = answered - answeredBefore
    const report = await walking
    t.ok(verifiedAt > writtenAt, `the write committed while the walk was still going (${answeredMeanwhile} of its ${answered} queries ran during the write)`)
    t.match(report, { ok: true, entriesChecked: ENTRIES }, 'the walk verifies the ledger as it stood when it began, none of the write')
    t.match(await walk(database), { ok: true, entriesChecked: ENTRIES + 3 }, 'the next walk sees the write')
  })

  t.test('the database refuses to alter an entry unless its triggers are disabled', async (t) => {
    const failure = await sql`UPDATE ledger_entries SET decision = 'allow' WHERE decision = 'deny'`.execute(db).then(
      () => undefined,
      (err: unknown) => err as Error
    )
    t.match(failure?.message, /append-only/, 'the append-only trigger refuses the UPDATE')
    t.equal(sqlState(failure), '42501', 'as insufficient_privilege')
  })

  t.test('an entry altered behind the service is found at its chain and seq, with what is wrong', async (t) => {
    const lengths = (await heads(database)).filter((h) => h.seq >= 4)
    t.ok(lengths.length >= 5, `five chains of four entries or more to alter (${lengths.length})`)
    const [content, hash, column, time, tail] = lengths
    const at = async (chain: number, seq: number) =>
      (await sql<{ id: string; decision: string }>`SELECT id, decision FROM ledger_entries WHERE chain = ${chain} AND seq = ${seq}`.execute(db)).rows[0]!
    const victims = {
      content: { chain: content!.chain, seq: 2, ...(await at(content!.chain, 2)) },
      hash: { chain: hash!.chain, seq: 3, ...(await at(hash!.chain, 3)) },
      column: { chain: column!.chain, seq: 2, ...(await at(column!.chain, 2)) },
      time: { chain: time!.chain, seq: 3, ...(await at(time!.chain, 3)) },
      tail: { chain: tail!.chain, seq: tail!.seq, ...(await at(tail!.chain, tail!.seq)) }
    }
    const flipped = victims.column.decision === 'allow' ? 'deny' : 'allow'
    await sql`ALTER TABLE ledger_entries DISABLE TRIGGER USER`.execute(db)
    await sql`UPDATE ledger_entries SET content = jsonb_set(content, '{note}', '"altered"') WHERE id = ${victims.content.id}`.execute(db)
    await sql`UPDATE ledger_entries SET hash = ${'a'.repeat(64)} WHERE id = ${victims.hash.id}`.execute(db)
    await sql`UPDATE ledger_entries SET decision = ${flipped} WHERE id = ${victims.column.id}`.execute(db)
    await sql`UPDATE ledger_entries SET recorded_at = recorded_at + interval '1 hour' WHERE id = ${victims.time.id}`.execute(db)
    await sql`DELETE FROM ledger_entries WHERE id = ${victims.tail.id}`.execute(db)
    await sql`ALTER TABLE ledger_entries ENABLE TRIGGER USER`.execute(db)

    const expected = [
      { chain: victims.content.chain, seq: 2, entryId: victims.content.id, problem: 'the content does not match its hash' },
      { chain: victims.hash.chain, seq: 3, entryId: victims.hash.id, problem: 'the content does not match its hash' },
      { chain: victims.column.chain, seq: 2, entryId: victims.column.id, problem: 'the stored decision differs from the hashed content' },
      { chain: victims.time.chain, seq: 3, entryId: victims.time.id, problem: 'the stored recordedAt differs from the hashed content' },
      { chain: victims.tail.chain, seq: victims.tail.seq, entryId: null, problem: 'the chain head does not match its last entry' }
    ].sort((a, b) => a.chain - b.chain)
    const altered = new Set(expected.map((e) => e.chain))

    for (const [name, storage] of [
      [`pages of ${database.capabilities.pageRows}`, database.capabilities],
      ['pages of 7', small]
    ] as const) {
      const report = await walk(database, storage)
      t.equal(report.ok, false, `${name}: the ledger does not verify`)
      t.same(
        report.chains.filter((c) => !c.ok).map((c) => c.failure),
        expected,
        `${name}: each altered chain fails at the altered entry, for what was altered`
      )
      t.same(report.firstFailure, expected[0], `${name}: the first failure is the lowest altered chain's`)
      t.ok(
        report.chains.filter((c) => !altered.has(c.chain)).every((c) => c.ok),
        `${name}: every other chain verifies`
      )
      t.equal(report.chains.find((c) => c.chain === victims.hash.chain)?.length, 2, `${name}: a chain verifies up to the entry before the altered one`)
    }
  })
})
