import { sql } from 'kysely'
import type { Db, Queryable } from '../db/database.js'
import type { LedgerEntryRow } from '../db/tables.js'
import { CHAIN_COUNT } from './hashing.js'
import { ChainVerifier, type VerifyFailure } from './verify.js'
import type { EntryKind } from './writer.js'

/** An entry as the API and the export show it: its hashed content and the hash. */
export type LedgerEntry = Record<string, unknown> & {
  id: string
  chain: number
  seq: number
  prevHash: string
  hash: string
  recordedAt: string
  kind: EntryKind
  memberId: string
  clientId: string
}

export function toLedgerEntry(row: Pick<LedgerEntryRow, 'content' | 'hash'>): LedgerEntry {
  return { ...(row.content as Record<string, unknown>), hash: row.hash } as LedgerEntry
}

export interface LedgerFilter {
  readonly memberId?: string | undefined
  readonly channel?: string | undefined
  readonly decision?: string | undefined
  readonly kind?: string | undefined
  readonly recipientId?: string | undefined
  readonly contractorId?: string | undefined
  readonly from?: string | undefined
  readonly to?: string | undefined
}

/**
 * Newest first, by insertion position. The cursor is the last position served, so entries
 * appended while a client pages are never served twice and never shift the pages it has yet to read.
 */
export async function listEntries(
  db: Queryable,
  filter: LedgerFilter,
  page: { limit: number; before?: number | undefined }
): Promise<{ entries: LedgerEntry[]; lastPosition: number | null; more: boolean }> {
  let query = db.selectFrom('ledger_entries').select(['position', 'content', 'hash'])
  if (filter.memberId !== undefined) query = query.where('member_id', '=', filter.memberId)
  if (filter.channel !== undefined) query = query.where('channel', '=', filter.channel)
  if (filter.decision !== undefined) query = query.where('decision', '=', filter.decision)
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind)
  if (filter.recipientId !== undefined) query = query.where('recipient_id', '=', filter.recipientId)
  if (filter.contractorId !== undefined) query = query.where('contractor_id', '=', filter.contractorId)
  if (filter.from !== undefined) query = query.where('recorded_at', '>=', new Date(filter.from))
  if (filter.to !== undefined) query = query.where('recorded_at', '<', new Date(filter.to))
  if (page.before !== undefined) query = query.where('position', '<', page.before)
  const rows = await query.orderBy('position', 'desc').limit(page.limit + 1).execute()
  const more = rows.length > page.limit
  const served = rows.slice(0, page.limit)
  return { entries: served.map(toLedgerEntry), lastPosition: served.at(-1)?.position ?? null, more }
}

export async function findEntry(db: Queryable, id: string): Promise<LedgerEntry | undefined> {
  const row = await db.selectFrom('ledger_entries').select(['content', 'hash']).where('id', '=', id).executeTakeFirst()
  return row && toLedgerEntry(row)
}

const VERIFY_PAGE = 1000

export interface ChainReport {
  readonly chain: number
  readonly ok: boolean
  /** Entries that verified, from seq 1 up to the first that did not. */
  readonly length: number
  /** The hash of the last entry that verified (64 zeros for none). */
  readonly headHash: string
  readonly failure?: VerifyFailure
}

export interface VerifyReport {
  readonly ok: boolean
  readonly entriesChecked: number
  readonly chains: ChainReport[]
  /** The first failure, in chain order; every chain's own is in `chains`. */
  readonly firstFailure?: VerifyFailure
}

/**
 * Streams every chain in seq order through the verifier. A broken chain stops at its first bad
 * entry, but the other chains are still checked: one break must not hide tampering elsewhere.
 * Runs in one repeatable-read snapshot, so heads and entries are seen as of the same moment
 * while appends go on.
 */
export function verifyLedger(db: Db): Promise<VerifyReport> {
  return db.transaction().setIsolationLevel('repeatable read').execute((tx) => verifySnapshot(tx))
}

async function verifyChain(db: Queryable, chain: number, head: { seq: number; hash: string } | undefined): Promise<{ report: ChainReport; checked: number }> {
  const verifier = new ChainVerifier(chain)
  let checked = 0
  let after = 0
  const done = (failure: VerifyFailure | null) => ({
    report: { chain, ok: failure === null, length: verifier.length, headHash: verifier.headHash, ...(failure ? { failure } : {}) },
    checked
  })
  for (;;) {
    const rows = await db
      .selectFrom('ledger_entries')
      .select(['id', 'seq', 'content', 'hash', 'prev_hash', 'member_id', 'kind', 'channel', 'decision', 'client_id', 'recipient_id', 'contractor_id', sql<string>`to_json(recorded_at)#>>'{}'`.as('recorded_at_text')])
      .where('chain', '=', chain)
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(VERIFY_PAGE)
      .execute()
    for (const row of rows) {
      const content = row.content as Record<string, unknown>
      checked += 1
      const failure =
        verifier.check({
          content,
          hash: row.hash,
          columns: {
            id: row.id,
            seq: row.seq,
            prevHash: row.prev_hash,
            memberId: row.member_id,
            kind: row.kind,
            clientId: row.client_id,
            channel: row.channel,
            decision: row.decision,
            recipientId: row.recipient_id,
            contractorId: row.contractor_id
          }
        }) ?? sameInstant(content.recordedAt, row.recorded_at_text, row.id, chain, row.seq)
      if (failure) return done(failure)
      after = row.seq
    }
    if (rows.length < VERIFY_PAGE) break
  }
  return done(head ? verifier.checkHead(head) : { entryId: null, chain, seq: 0, problem: 'the chain has no head' })
}

async function verifySnapshot(db: Queryable): Promise<VerifyReport> {
  const chains: ChainReport[] = []
  let entriesChecked = 0
  const heads = await db.selectFrom('ledger_heads').select(['chain', 'seq', 'hash']).orderBy('chain').execute()
  const failures: VerifyFailure[] = heads
    .filter((h) => h.chain < 0 || h.chain >= CHAIN_COUNT)
    .map((h) => ({ entryId: null, chain: h.chain, seq: h.seq, problem: 'a head exists for a chain outside the ledger' }))
  for (let chain = 0; chain < CHAIN_COUNT; chain += 1) {
    const { report, checked } = await verifyChain(db, chain, heads.find((h) => h.chain === chain))
    chains.push(report)
    entriesChecked += checked
    if (report.failure) failures.push(report.failure)
  }
  // Rows outside the walked chains (a forged chain or seq) would otherwise go unseen. A broken
  // chain leaves its tail unwalked, so this is only meaningful when every chain verified.
  if (failures.length === 0) {
    const total = await db.selectFrom('ledger_entries').select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    if (Number(total.n) !== entriesChecked) {
      failures.push({ entryId: null, chain: -1, seq: 0, problem: `${Number(total.n) - entriesChecked} entries lie outside every chain` })
    }
  }
  const [firstFailure] = failures
  return firstFailure ? { ok: false, entriesChecked, chains, firstFailure } : { ok: true, entriesChecked, chains }
}

function sameInstant(hashed: unknown, stored: string, entryId: string, chain: number, seq: number): VerifyFailure | null {
  if (typeof hashed === 'string' && new Date(hashed).getTime() === new Date(stored).getTime()) return null
  return { entryId, chain, seq, problem: 'the stored recordedAt differs from the hashed content' }
}

/** Every entry in chain and seq order, for an auditor's export. */
export async function* exportEntries(db: Queryable): AsyncGenerator<LedgerEntry> {
  for (let chain = 0; chain < CHAIN_COUNT; chain += 1) {
    let after = 0
    for (;;) {
      const rows = await db
        .selectFrom('ledger_entries')
        .select(['seq', 'content', 'hash'])
        .where('chain', '=', chain)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(VERIFY_PAGE)
        .execute()
      for (const row of rows) yield toLedgerEntry(row)
      if (rows.length < VERIFY_PAGE) break
      after = rows.at(-1)!.seq
    }
  }
}
