import * as crypto from 'node:crypto'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import type { FastifyBaseLogger } from 'fastify'
import { sql } from 'kysely'
import pino from 'pino'
import t from 'tap'
import { copyIn, copyTextLine } from '../../src/db/copy-in.js'
import type { Database } from '../../src/db/database.js'
import { classifyDatabaseError, sqlState } from '../../src/db/errors.js'
import { ValueOutOfRangeError } from '../../src/errors.js'
import { GroupCommitter } from '../../src/ledger/group-commit.js'
import { CHAIN_COUNT, GENESIS_HASH, chainOf, entryHash } from '../../src/ledger/hashing.js'
import { verifyLedger, type VerifyReport } from '../../src/ledger/verify-walk.js'
import type { EntryRef } from '../../src/ledger/entry-ref.js'
import { LedgerWriter, type EntryDraft } from '../../src/ledger/writer.js'
import { backends, forEachBackend } from './backends.js'

/**
 * The ledger writer on every backend, by every road the backend offers: INSERT everywhere, and
 * COPY (at the flush, or streamed while the entries are appended) where the backend can COPY.
 * The same entries, written by any road on any backend, must be stored as the same rows and
 * verify the same; a group that fails leaves nothing, and the next one commits.
 */

const require = createRequire(import.meta.url)
const SILENT = pino({ level: 'silent' }) as unknown as FastifyBaseLogger
const BASE = Date.parse('2026-12-01T00:00:00.000Z')
const MEMBERS = ['M-w-1', 'M-w-2', 'M-会員-3', 'M-w-4', 'M-w-5', 'M-w-6', 'M-w-7', 'M-w-8', 'M-w-9']

/** A group of `count` entries whose bodies hold what COPY's text format must escape, and JSON edge cases. */
function drafts(count: number): EntryDraft[] {
  return Array.from({ length: count }, (_, i): EntryDraft => {
    const memberId = MEMBERS[i % MEMBERS.length]!
    const third = i % 3 === 0
    return {
      kind: i % 7 === 0 ? 'consent_granted' : 'decision',
      memberId,
      clientId: i % 2 === 0 ? 'client-a' : 'client-\\b',
      providerId: 'shizenha',
      channel: i % 7 === 0 ? undefined : third ? 'third_party' : 'joint_use',
      decision: i % 7 === 0 ? undefined : i % 5 === 0 ? 'deny' : 'allow',
      recipientId: third ? `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` : undefined,
      contractorId: i % 11 === 0 ? '11111111-1111-4111-8111-111111111111' : undefined,
      body: {
        i,
        note: `tab\there newline\nthere cr\r backslash \\ quote " null \\N ${i}`,
        ja: '自然派 生協 「共同購入」',
        emoji: '🍙🥕',
        numbers: [0, -0, 1.5, 1e21, -123456789012345, 2 ** 53 - 1],
        nested: { empty: {}, list: [], nothing: null, absent: undefined, deep: { a: [{ b: 'c' }] } },
        ...(i % 40 === 0 ? { control: '\u0001\u001f' } : {})
      }
    }
  })
}

/** What the ledger holds, as it reads back: every column of every entry (the content as stored text) and the heads. */
interface Stored {
  readonly entries: Record<string, unknown>[]
  readonly heads: { chain: number; seq: number; hash: string }[]
}

async function stored(database: Database): Promise<Stored> {
  const { rows } = await sql<Record<string, unknown> & { recorded_at: Date }>`
    SELECT id, chain, seq, prev_hash, hash, recorded_at, kind, member_id, client_id, channel, decision, recipient_id, contractor_id, content::text AS content
    FROM ledger_entries ORDER BY chain, seq`.execute(database.db)
  const heads = await database.db.selectFrom('ledger_heads').select(['chain', 'seq', 'hash']).orderBy('chain').execute()
  return { entries: rows.map((row) => ({ ...row, recorded_at: row.recorded_at.toISOString() })), heads }
}

const verify = async (database: Database): Promise<VerifyReport> =>
  (await verifyLedger(database.db, database.capabilities, async () => ({ checkpoints: [] }))).report

interface Job {
  readonly entries: EntryDraft[]
  fail?: boolean
}

interface Road {
  readonly name: string
  /** Whether the writer may COPY (LedgerWriterOptions.copy). */
  readonly copy: boolean
  /** Whether the entries are streamed as they are appended (startSending). */
  readonly stream: boolean
}

const ROADS: readonly Road[] = [
  { name: 'INSERT', copy: false, stream: false },
  { name: 'COPY at the flush', copy: true, stream: false },
  { name: 'COPY streamed as appended', copy: true, stream: true }
]

const GROUP = 240

/** What each backend stored by INSERT, for the comparison across backends. */
const insertedOn = new Map<string, { stored: Stored; report: VerifyReport }>()

/**
 * Runs `append` (synchronous: nothing else runs meanwhile) with node:crypto's randomUUID counting
 * from 1, so that the same drafts give the same entries, byte for byte, whatever database or road
 * they are written to. The writer imports randomUUID by name: syncBuiltinESMExports updates that binding.
 */
function withCountedIds<T>(append: () => T): T {
  const random = crypto.randomUUID
  let next = 0
  const builtin = require('node:crypto') as { randomUUID: typeof crypto.randomUUID }
  builtin.randomUUID = () => `00000000-0000-4000-a000-${String(++next).padStart(12, '0')}`
  syncBuiltinESMExports()
  try {
    return append()
  } finally {
    builtin.randomUUID = random
    syncBuiltinESMExports()
  }
}

forEachBackend(t, async (t, backend) => {
  const first = await backend.open(t)
  const canCopy = first.capabilities.copy
  const results: { road: Road; stored: Stored; report: VerifyReport }[] = []

  for (const road of ROADS) {
    const skip = road.copy && !canCopy ? `${backend.name} cannot COPY (capabilities.copy is false): every group goes by INSERT` : false
    t.test(`a group of ${GROUP} entries by ${road.name}`, { skip }, async (t) => {
      const database = road.copy ? await backend.open(t) : first
      const group = drafts(GROUP)
      const refs = await database.transaction(async (tx) => {
        const ledger = await LedgerWriter.lock(
          tx,
          group.map((d) => d.memberId),
          { copy: road.copy }
        )
        if (road.stream) await ledger.startSending()
        const appended = withCountedIds(() => group.map((draft, i) => ledger.append(draft, new Date(BASE + i * 1001))))
        await ledger.flush()
        return appended
      })
      const now = await stored(database)
      t.equal(now.entries.length, GROUP, 'every entry is stored')
      const byId = new Map(now.entries.map((e) => [e.id as string, e]))
      t.ok(
        refs.every((ref: EntryRef) => {
          const row = byId.get(ref.id)
          return row?.chain === ref.chain && row.seq === ref.seq && row.hash === ref.hash && row.recorded_at === ref.recordedAt
        }),
        'each stored row is where the writer said, with the hash it gave'
      )
      t.ok(
        now.entries.every((e) => typeof e.seq === 'number' && typeof e.chain === 'number'),
        'bigint and integer columns read back as numbers'
      )
      t.ok(
        now.entries.every((e) => entryHash(JSON.parse(e.content as string) as Record<string, unknown>) === e.hash),
        'each stored content gives its stored hash by the reference algorithm'
      )
      const i17 = now.entries.find((e) => (JSON.parse(e.content as string) as { i: number }).i === 17)!
      t.same(
        JSON.parse(i17.content as string),
        JSON.parse(
          JSON.stringify({
            ...group[17]!.body,
            ...pick(group[17]!),
            id: i17.id,
            chain: i17.chain,
            seq: i17.seq,
            prevHash: i17.prev_hash,
            recordedAt: i17.recorded_at
          })
        ),
        'a content with tabs, newlines, backslashes and "\\N" reads back as it was appended'
      )
      t.ok(chainsLink(now), 'every chain counts from 1 and links to the entry before it')
      t.same(
        now.heads.filter((h) => h.seq > 0),
        lastOfEachChain(now),
        'each touched head is its chain’s last entry'
      )
      const report = await verify(database)
      t.match(report, { ok: true, entriesChecked: GROUP }, 'the ledger verifies')
      t.same(
        report.chains.map((c) => [c.chain, c.length, c.headHash]),
        now.heads.map((h) => [h.chain, h.seq, h.hash]),
        'every chain verifies up to its head'
      )
      results.push({ road, stored: now, report })
      if (road.name === 'INSERT') insertedOn.set(backend.name, { stored: now, report })
      else {
        const inserted = results.find((r) => r.road.name === 'INSERT')!
        t.same(now, inserted.stored, 'the very rows and heads INSERT stored')
        t.same(report, inserted.report, 'and the same verify report')
      }
    })
  }

  t.test(
    'a backend that cannot COPY refuses a COPY, so the writer must not be told it can',
    { skip: canCopy ? `${backend.name} can COPY` : false },
    async (t) => {
      const refused = await first
        .transaction((tx) => copyIn('ledger_entries', ['id'], copyTextLine(['00000000-0000-4000-8000-000000000001'])).execute(tx))
        .then(
          () => undefined,
          (err: unknown) => err
        )
      t.ok(refused instanceof Error, `the COPY fails (${String(refused)})`)
      t.equal((await stored(first)).entries.length, GROUP, 'and adds nothing')
    }
  )

  // A group whose entries the database refuses, by each road: nothing of it stays, the heads do not move.
  for (const road of ROADS) {
    const skip = road.copy && !canCopy ? `${backend.name} cannot COPY` : false
    t.test(`a group refused by the database leaves nothing (${road.name})`, { skip }, async (t) => {
      const database = first
      const before = await stored(database)
      const group = drafts(150)
      const bad = { ...group[90]!, channel: 'third_party', recipientId: 'not-a-uuid' }
      group[90] = bad
      let sendFailed = false
      const failure = await database
        .transaction(async (tx) => {
          const ledger = await LedgerWriter.lock(
            tx,
            group.map((d) => d.memberId),
            { copy: road.copy }
          )
          try {
            if (road.stream) await ledger.startSending()
            for (const [i, draft] of group.entries()) ledger.append(draft, new Date(BASE + i))
            await ledger.flush()
          } catch (err) {
            sendFailed = ledger.sendFailed
            ledger.abandon(err instanceof Error ? err : new Error(String(err)))
            throw err
          }
        })
        .then(
          () => undefined,
          (err: unknown) => err
        )
      t.equal(sqlState(failure), '22P02', 'the malformed uuid is refused with its SQLSTATE')
      t.equal(classifyDatabaseError(failure), 'bad_input', 'classified as a value refused')
      t.ok(sendFailed, 'the writer knows its entries are not on record')
      const after = await stored(database)
      t.same(after, before, 'no entry of the group is stored, no head moved')
      t.equal(after.heads.length, CHAIN_COUNT)
      const again = await database.transaction(async (tx) => {
        const ledger = await LedgerWriter.lock(tx, ['M-w-1'], { copy: road.copy })
        const ref = ledger.append(drafts(1)[0]!, new Date(BASE))
        await ledger.flush()
        return ref
      })
      const head = before.heads.find((h) => h.chain === chainOf('M-w-1'))!
      t.match(again, { seq: head.seq + 1 }, 'the next group on the same database extends the chain where it stood')
      t.match(await verify(database), { ok: true, entriesChecked: before.entries.length + 1 })
    })
  }

  t.test('group commit: many jobs in few groups; a refused job fails alone; a handler that fails mid-stream leaves nothing', async (t) => {
    const database = first
    const start = (await stored(database)).entries.length
    const groups: number[] = []
    const committer = new GroupCommitter<Job, EntryRef[]>(
      database,
      () => new Date(BASE),
      SILENT,
      async (_tx, ledger, now, jobs) => {
        // Streams the entries where the backend COPYs (a group of 100 or more), as the decision service does.
        await ledger.startSending()
        const outcomes = jobs.map((job) => ({ ok: true as const, value: job.entries.map((d) => ledger.append(d, now)) }))
        if (jobs.some((job) => job.fail === true)) throw new Error('the handler failed after appending')
        return outcomes
      },
      {
        maxGroupEntries: 2000,
        maxQueuedEntries: 10_000,
        overlapCommits: database.capabilities.overlappingCommits,
        observe: { groupCommitted: (entries) => groups.push(entries), appendFailed: () => {} }
      }
    )
    const job = (i: number, size: number): Job => ({
      entries: Array.from({ length: size }, (_, k) => ({ ...drafts(1)[0]!, memberId: MEMBERS[(i + k) % MEMBERS.length]!, body: { job: i, k } }))
    })
    const submit = (j: Job) =>
      committer.submit(
        j,
        j.entries.map((d) => d.memberId),
        j.entries.length
      )

    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => submit(job(i, 10))))
    t.equal(many.flat().length, 300, 'every job is answered with its entries')
    t.ok(groups.length < 30, `the 30 jobs went in ${groups.length} groups`)
    t.equal(
      groups.reduce((a, b) => a + b, 0),
      300,
      'the groups hold every entry'
    )
    t.match(await verify(database), { ok: true, entriesChecked: start + 300 })

    // Submitted together: the first goes alone, the other three group; the group fails on one job's value and is retried job by job.
    const bad = job(101, 5)
    bad.entries[2] = { ...bad.entries[2]!, channel: 'third_party', recipientId: 'not-a-uuid' }
    const settled = await Promise.allSettled([submit(job(100, 5)), submit(job(102, 5)), submit(bad), submit(job(103, 5))])
    t.same(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      'only the job with the refused value fails'
    )
    t.ok(settled[2].status === 'rejected' && settled[2].reason instanceof ValueOutOfRangeError, 'as a value out of range (a 400)')
    const jobsStored = await sql<{ job: number; n: number }>`
      SELECT (content->>'job')::int AS job, count(*)::int AS n FROM ledger_entries WHERE (content->>'job')::int >= 100 GROUP BY 1 ORDER BY 1`.execute(
      database.db
    )
    t.same(
      jobsStored.rows,
      [
        { job: 100, n: 5 },
        { job: 102, n: 5 },
        { job: 103, n: 5 }
      ],
      'the others are stored whole, the refused one not at all'
    )

    // A handler failing after a large group's entries were sent: on a COPY backend the COPY must be ended for the rollback to run.
    const before = (await stored(database)).entries.length
    const streamed = job(200, 150)
    streamed.fail = true
    const failure = await submit(streamed).then(
      () => undefined,
      (err: unknown) => err
    )
    t.match(failure, { message: 'the handler failed after appending' }, "the handler's failure is the caller's answer")
    t.equal((await stored(database)).entries.length, before, 'nothing of that group is stored')
    t.equal((await submit(job(201, 150))).length, 150, 'and the next large group commits')
    t.match(await verify(database), { ok: true, entriesChecked: before + 150 })
  })
})

t.test(
  'the same entries are stored as the same rows on every backend',
  { skip: backends.some((b) => b.skip !== false) ? 'needs every backend to run: the PostgreSQL half is skipped' : false },
  async (t) => {
    const [a, b] = [...insertedOn.values()]
    t.equal(insertedOn.size, 2, 'both backends wrote the group')
    t.same(b?.stored, a?.stored, 'every column of every entry, and the heads, are the same')
    t.same(b?.report, a?.report, 'and so is the verify report')
  }
)

/** The envelope members the writer puts in the content from the draft. */
function pick(draft: EntryDraft): Record<string, unknown> {
  const { body: _body, ...envelope } = draft
  return envelope
}

function chainsLink(s: Stored): boolean {
  const last = new Map<number, { seq: number; hash: string }>()
  for (const e of s.entries) {
    const previous = last.get(e.chain as number) ?? { seq: 0, hash: GENESIS_HASH }
    if (e.seq !== previous.seq + 1 || e.prev_hash !== previous.hash || e.chain !== chainOf(e.member_id as string)) return false
    last.set(e.chain, { seq: e.seq, hash: e.hash as string })
  }
  return true
}

function lastOfEachChain(s: Stored): { chain: number; seq: number; hash: string }[] {
  const last = new Map<number, { chain: number; seq: number; hash: string }>()
  for (const e of s.entries) last.set(e.chain as number, { chain: e.chain as number, seq: e.seq as number, hash: e.hash as string })
  return [...last.values()].sort((x, y) => x.chain - y.chain)
}
