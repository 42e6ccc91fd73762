import { sql } from 'kysely'
import t from 'tap'
import { entryHash } from '../../src/ledger/hashing.js'
import { verifyLedger } from '../../src/ledger/verify-walk.js'
import { LedgerWriter } from '../../src/ledger/writer.js'
import { openTestDatabase, until } from '../helper.js'

// The writer serializes each entry once and hashes that text. What is stored must be exactly
// what was hashed, by the reference algorithm (RFC 8785 of the stored JSON), whatever the body
// holds, and must not follow changes made to the body's objects after the append.
t.test('an appended entry stores the content it hashed, as it stood when appended', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()

  const recipient = { name: '自然派銀行 梅田支店', note: 'quote " backslash \\ newline \n tab \t', emoji: '🍙' }
  const body = {
    recipient,
    absent: undefined,
    nested: { kept: 1, dropped: undefined },
    list: ['a', undefined, 2.5, -0, 1e21],
    signedAt: new Date('2026-04-01T00:00:00.000Z')
  }
  const refs = await database.transaction(async (tx) => {
    const ledger = await LedgerWriter.lock(tx, ['m-writer-1', 'm-writer-2'])
    const now = new Date('2026-12-02T00:00:00.000Z')
    const first = ledger.append(
      { kind: 'decision', memberId: 'm-writer-1', clientId: 'c-1', providerId: 'shizenha', channel: 'third_party', decision: 'allow', body },
      now
    )
    recipient.name = 'changed after the append'
    const second = ledger.append(
      { kind: 'decision', memberId: 'm-writer-2', clientId: 'c-1', providerId: 'shizenha', decision: 'deny', body: { plain: 'ascii only' } },
      now
    )
    await ledger.flush()
    return [first, second]
  })

  const rows = await database.db
    .selectFrom('ledger_entries')
    .select(['id', 'hash', 'content', 'channel', 'decision'])
    .where(
      'id',
      'in',
      refs.map((r) => r.id)
    )
    .execute()
  t.equal(rows.length, 2, 'both entries are stored')
  for (const ref of refs) {
    const row = rows.find((r) => r.id === ref.id)!
    t.equal(row.hash, ref.hash, 'the stored hash is the one the caller was given')
    t.equal(entryHash(row.content), row.hash, 'the reference algorithm over the stored content gives the stored hash')
  }
  const first = rows.find((r) => r.id === refs[0]!.id)!
  const content = first.content
  t.same(
    content.recipient,
    { name: '自然派銀行 梅田支店', note: 'quote " backslash \\ newline \n tab \t', emoji: '🍙' },
    'the content is as it stood at the append'
  )
  t.notOk('absent' in content, 'an undefined member is not stored')
  t.same(content.nested, { kept: 1 }, 'nor a nested one')
  t.same(content.list, ['a', null, 2.5, 0, 1e21], 'undefined in a list is null, as JSON has it')
  t.equal(content.signedAt, '2026-04-01T00:00:00.000Z', 'a date is stored as its JSON text')
  t.equal(content.channel, 'third_party', 'the envelope is in the content')
  t.equal(first.channel, 'third_party', 'and in its column')
})

// A large group goes by another road on PostgreSQL (COPY at the flush, or a COPY that takes each
// entry as it is appended, then the heads). Whatever the road, the
// stored rows are the hashed texts, each chain links, the heads end at the last entries, and the
// ledger verifies; a tab, a newline or a backslash in the content must not shift a field.
for (const sentAsAppended of [false, true]) {
  const road = sentAsAppended ? 'sent as it is appended' : 'sent at the flush'
  t.test(`a large group ${road} is stored, chained and moves the heads as a small one does`, async (t) => {
    const { database } = await openTestDatabase(t)
    t.teardown(() => database.close())
    await database.migrateToLatestOrThrow()

    const members = Array.from({ length: 7 }, (_, i) => `m-writer-large-${i}`)
    const tricky = { note: 'tab \t newline \n cr \r backslash \\ quote " null \\N', ja: '自然派 生協', emoji: '🍙' }
    const refs = await database.transaction(async (tx) => {
      // One member id per entry: the group's size decides whether startSending streams.
      const perEntry = Array.from({ length: 350 }, (_, i) => members[i % members.length]!)
      const ledger = await LedgerWriter.lock(tx, perEntry, { copy: database.capabilities.copy })
      if (sentAsAppended) await ledger.startSending()
      const now = new Date('2026-12-02T00:00:00.000Z')
      const appended = perEntry.map((memberId, i) =>
        ledger.append(
          { kind: 'decision', memberId, clientId: 'c-1', providerId: 'shizenha', channel: 'third_party', decision: 'allow', body: { i, tricky } },
          now
        )
      )
      if (sentAsAppended && database.capabilities.copy) {
        // Seen from another connection: the COPY has rows before the flush ends it.
        const copying = await until(async () => {
          const progress = await sql<{
            tuples: string
          }>`SELECT tuples_processed AS tuples FROM pg_stat_progress_copy WHERE datname = current_database()`.execute(database.db)
          return progress.rows.some((row) => Number(row.tuples) > 0)
        }, 5000)
        t.not(copying, null, 'PostgreSQL is inserting the entries before the flush')
      }
      await ledger.flush()
      return appended
    })

    const rows = await database.db
      .selectFrom('ledger_entries')
      .select(['id', 'chain', 'seq', 'prev_hash', 'hash', 'member_id', 'content'])
      .orderBy('chain')
      .orderBy('seq')
      .execute()
    t.equal(rows.length, 350, 'every entry is stored')
    t.ok(
      rows.every((row) => entryHash(row.content) === row.hash),
      'each stored content gives its stored hash'
    )
    t.same(
      rows.map((row) => row.content.tricky),
      rows.map(() => tricky),
      'the text with tabs, newlines and backslashes is stored as it was'
    )
    t.same(new Set(rows.map((r) => r.id)), new Set(refs.map((r) => r.id)), 'the stored entries are those the callers were told of')
    const unlinked = rows.filter((row, i) => {
      const before = rows[i - 1]
      return before?.chain === row.chain && (row.prev_hash !== before.hash || row.seq !== before.seq + 1)
    })
    t.same(unlinked, [], 'each entry links to the one before it in its chain')

    const heads = await database.db.selectFrom('ledger_heads').select(['chain', 'seq', 'hash']).execute()
    for (const chain of new Set(rows.map((r) => r.chain))) {
      const last = rows.filter((r) => r.chain === chain).at(-1)!
      t.same(
        heads.find((h) => h.chain === chain),
        { chain, seq: last.seq, hash: last.hash },
        `the head of chain ${chain} is its last entry`
      )
    }
    const { report } = await verifyLedger(database.db, database.capabilities, () => Promise.resolve({ checkpoints: [] }))
    t.ok(report.ok, 'the ledger verifies')
    t.equal(report.entriesChecked, 350, 'and every entry was walked')
  })
}
