/** What the checkpoint and verify tests share: an app with a key, acts to record, the rewrite attack, a fast fill. */
import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { billing, createRecipient, jointUse, statutoryException, type Tap } from '../fixtures.js'
import { ADMIN_TOKEN, buildTestApp, type TestApp, type TestAppOptions } from '../helper.js'
import { chainOf, entryHash } from '../../src/ledger/hashing.js'

export const ORIGIN = 'shizenha.example/test-ledger'

/** An app with a signing key (a fresh base64 seed unless given) and no periodic checkpoints. */
export async function appWithKey(t: Tap, options: TestAppOptions & { seed?: string } = {}): Promise<TestApp & { seed: string }> {
  const seed = options.seed ?? randomBytes(32).toString('base64')
  const test = await buildTestApp(t, {
    ...options,
    config: { checkpointSigningKey: seed, checkpointOrigin: ORIGIN, checkpointEveryEntries: 0, checkpointIntervalSeconds: 0, ...options.config }
  })
  return Object.assign(test, { seed })
}

/** `count` recorded acts spread over `members` members (joint uses and statutory exceptions: allowed without setup). */
export async function record(test: TestApp, count: number, members = 7, prefix = 'M-CP'): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const member = `${prefix}-${i % members}`
    const payload = i % 3 === 0 ? statutoryException(member) : jointUse(member, 'delivery')
    const res = await test.request({ method: 'POST', url: '/v1/transfers', payload })
    if (res.statusCode !== 201) throw new Error(`transfer failed: ${res.statusCode} ${res.body}`)
  }
}

export async function takeCheckpoint(test: TestApp, token = ADMIN_TOKEN): Promise<Record<string, any>> {
  const res = await test.request({ method: 'POST', url: '/v1/ledger/checkpoints', token })
  if (res.statusCode !== 201) throw new Error(`checkpoint failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

export async function verify(test: TestApp, full = false): Promise<Record<string, any>> {
  const res = await test.request({ method: 'GET', url: `/v1/ledger/verify${full ? '?full=true' : ''}` })
  if (res.statusCode !== 200) throw new Error(`verify answered ${res.statusCode} ${res.body}`)
  return res.json()
}

/**
 * The attack the checkpoints exist for: with the triggers off, change one entry, recompute the
 * hash of it and of every later entry of its chain (content, prev_hash and hash columns alike)
 * and move the head to the new last hash. Every link holds afterwards.
 */
export async function rewriteChain(test: TestApp, chain: number, seq: number): Promise<void> {
  const db = test.database.db
  const { rows } = await sql<{ id: string; seq: number | string; content: Record<string, unknown> }>`
    SELECT id, seq, content FROM ledger_entries WHERE chain = ${chain} AND seq >= ${seq} ORDER BY seq`.execute(db)
  const previous = await sql<{ hash: string }>`SELECT hash FROM ledger_entries WHERE chain = ${chain} AND seq = ${seq - 1}`.execute(db)
  let prevHash = previous.rows[0]?.hash ?? '0'.repeat(64)
  await sql`ALTER TABLE ledger_entries DISABLE TRIGGER USER`.execute(db)
  await sql`ALTER TABLE ledger_heads DISABLE TRIGGER USER`.execute(db)
  for (const [index, row] of rows.entries()) {
    const content: Record<string, unknown> = { ...row.content, prevHash }
    if (index === 0) content.decision = content.decision === 'allow' ? 'deny' : 'allow'
    const hash = entryHash(content)
    await sql`UPDATE ledger_entries SET content = ${JSON.stringify(content)}::jsonb, decision = ${String(content.decision)}, prev_hash = ${prevHash}, hash = ${hash} WHERE id = ${row.id}`.execute(
      db
    )
    prevHash = hash
  }
  await sql`UPDATE ledger_heads SET hash = ${prevHash} WHERE chain = ${chain}`.execute(db)
  await sql`ALTER TABLE ledger_entries ENABLE TRIGGER USER`.execute(db)
  await sql`ALTER TABLE ledger_heads ENABLE TRIGGER USER`.execute(db)
}

/**
 * Grows a test's ledger by `entries` valid entries fast, for measuring verify: a few acts go
 * through the API to get real entry contents (denied third-party transfers, a joint use, a
 * statutory exception), then copies of those are spread over many members, each given the next seq and
 * prevHash of its chain and hashed with src/ledger/hashing.ts, and written with one
 * INSERT … SELECT FROM jsonb_populate_recordset per chunk (as the writer does), the heads last.
 * The columns beside the content are taken from it, as the writer fills them.
 */
export interface FillResult {
  readonly entries: number
  /** Seconds spent hashing in JS and inserting. */
  readonly hashSeconds: number
  readonly insertSeconds: number
}

const CHUNK = 10_000

async function templates(test: TestApp): Promise<Record<string, unknown>[]> {
  const recipient = (await createRecipient(test, { name: 'Fill Bank' })).id
  const post = (payload: Record<string, unknown>) => test.request({ method: 'POST', url: '/v1/transfers', payload })
  await post(billing('M-FILL-T', recipient)) // denied: no consent on record
  await post({ ...billing('M-FILL-T', recipient), dataItems: ['name', 'health_care'] })
  await post(jointUse('M-FILL-T', 'delivery'))
  await post(statutoryException('M-FILL-T'))
  const { rows } = await sql<{ content: Record<string, unknown> }>`
    SELECT content FROM ledger_entries WHERE member_id = 'M-FILL-T' ORDER BY position`.execute(test.database.db)
  return rows.map((r) => r.content)
}

export async function fillLedger(test: TestApp, entries: number, options: { members?: number; start?: Date } = {}): Promise<FillResult> {
  const db = test.database.db
  const shapes = await templates(test)
  const members = Array.from({ length: options.members ?? 5000 }, (_, i) => {
    const memberId = `M-F${String(i).padStart(6, '0')}`
    return { memberId, chain: chainOf(memberId) }
  })
  const heads = new Map(
    (await sql<{ chain: number; seq: number | string; hash: string }>`SELECT chain, seq, hash FROM ledger_heads`.execute(db)).rows.map((h) => [
      h.chain,
      { seq: Number(h.seq), hash: h.hash }
    ])
  )
  const start = (options.start ?? new Date()).getTime()
  let hashSeconds = 0
  let insertSeconds = 0
  for (let done = 0; done < entries; done += CHUNK) {
    const began = performance.now()
    const rows: Record<string, unknown>[] = []
    for (let i = done; i < Math.min(entries, done + CHUNK); i += 1) {
      const { memberId, chain } = members[i % members.length]!
      const head = heads.get(chain)!
      const content: Record<string, unknown> = {
        ...shapes[i % shapes.length]!,
        id: randomUUID(),
        chain,
        seq: head.seq + 1,
        prevHash: head.hash,
        recordedAt: new Date(start + i).toISOString(),
        memberId
      }
      const hash = entryHash(content)
      heads.set(chain, { seq: head.seq + 1, hash })
      rows.push({
        id: content.id,
        chain,
        seq: content.seq,
        prev_hash: content.prevHash,
        hash,
        recorded_at: content.recordedAt,
        kind: content.kind,
        member_id: memberId,
        client_id: content.clientId,
        channel: content.channel ?? null,
        decision: content.decision ?? null,
        recipient_id: content.recipientId ?? null,
        contractor_id: content.contractorId ?? null,
        content
      })
    }
    const json = JSON.stringify(rows)
    const hashed = performance.now()
    await sql`
      INSERT INTO ledger_entries (id, chain, seq, prev_hash, hash, recorded_at, kind, member_id, client_id, channel, decision, recipient_id, contractor_id, content)
      SELECT id, chain, seq, prev_hash, hash, recorded_at, kind, member_id, client_id, channel, decision, recipient_id, contractor_id, content
      FROM jsonb_populate_recordset(NULL::ledger_entries, ${json}::jsonb)`.execute(db)
    hashSeconds += (hashed - began) / 1000
    insertSeconds += (performance.now() - hashed) / 1000
  }
  const moved = JSON.stringify([...heads].map(([chain, head]) => ({ chain, ...head })))
  await sql`
    UPDATE ledger_heads AS h SET seq = v.seq, hash = v.hash
    FROM jsonb_to_recordset(${moved}::jsonb) AS v(chain integer, seq bigint, hash text)
    WHERE h.chain = v.chain AND v.seq > h.seq`.execute(db)
  await sql`ANALYZE ledger_entries`.execute(db)
  return { entries, hashSeconds, insertSeconds }
}
