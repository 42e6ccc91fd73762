import t from 'tap'
import { entryHash } from '../../src/ledger/hashing.js'
import { LedgerWriter } from '../../src/ledger/writer.js'
import { openTestDatabase } from '../helper.js'

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
    const first = ledger.append({ kind: 'decision', memberId: 'm-writer-1', clientId: 'c-1', channel: 'third_party', decision: 'allow', body }, now)
    recipient.name = 'changed after the append'
    const second = ledger.append({ kind: 'decision', memberId: 'm-writer-2', clientId: 'c-1', decision: 'deny', body: { plain: 'ascii only' } }, now)
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
