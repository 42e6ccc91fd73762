import { sql } from 'kysely'
import type { Queryable } from '../db/database.js'
import type { LedgerEntryRow } from '../db/tables.js'
import type { ChainHead } from './checkpoints.js'
import { CHAIN_COUNT } from './hashing.js'
import { prefetched, type Paging } from './paging.js'
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
  return { ...row.content, hash: row.hash } as LedgerEntry
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
 * Each entry comes as the UTF-8 of its JSON: the stored content as PostgreSQL renders it, with its
 * hash added, for the route to send as bytes (see jsonListBytes for why not as one string).
 */
export async function listEntries(
  db: Queryable,
  filter: LedgerFilter,
  page: { limit: number; before?: number | undefined }
): Promise<{ entries: Buffer[]; lastPosition: number | null; more: boolean }> {
  let query = db.selectFrom('ledger_entries').select(['position', 'hash', sql<string>`content::text`.as('content_text')])
  if (filter.memberId !== undefined) query = query.where('member_id', '=', filter.memberId)
  if (filter.channel !== undefined) query = query.where('channel', '=', filter.channel)
  if (filter.decision !== undefined) query = query.where('decision', '=', filter.decision)
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind)
  if (filter.recipientId !== undefined) query = query.where('recipient_id', '=', filter.recipientId)
  if (filter.contractorId !== undefined) query = query.where('contractor_id', '=', filter.contractorId)
  if (filter.from !== undefined) query = query.where('recorded_at', '>=', new Date(filter.from))
  if (filter.to !== undefined) query = query.where('recorded_at', '<', new Date(filter.to))
  if (page.before !== undefined) query = query.where('position', '<', page.before)
  const rows = await query
    .orderBy('position', 'desc')
    .limit(page.limit + 1)
    .execute()
  const more = rows.length > page.limit
  const served = rows.slice(0, page.limit)
  return { entries: served.map((row) => Buffer.from(withHash(row.content_text, row.hash), 'utf8')), lastPosition: served.at(-1)?.position ?? null, more }
}

export async function findEntry(db: Queryable, id: string): Promise<LedgerEntry | undefined> {
  const row = await db.selectFrom('ledger_entries').select(['content', 'hash']).where('id', '=', id).executeTakeFirst()
  return row && toLedgerEntry(row)
}

/**
 * Every entry up to `heads` as one line of JSON each (the content as stored, plus `hash`), in
 * chain and seq order, for an auditor's export. Bounded by heads read beforehand, so the lines
 * end exactly at those heads however many entries are appended meanwhile.
 */
export async function* exportLines(db: Queryable, paging: Paging, heads: readonly ChainHead[]): AsyncGenerator<string> {
  for (const head of heads) {
    if (head.chain < 0 || head.chain >= CHAIN_COUNT || head.seq === 0) continue
    const fetch = async (after: number) =>
      (
        await sql<{ seq: number; hash: string; content: string }>`
          SELECT seq, hash, content::text AS content FROM ledger_entries
          WHERE chain = ${head.chain} AND seq > ${after} AND seq <= ${head.seq}
          ORDER BY seq LIMIT ${paging.rows}`.execute(db)
      ).rows
    for await (const rows of prefetched(paging, fetch, (row) => Number(row.seq), 0)) {
      let chunk = ''
      for (const row of rows) chunk += `${withHash(row.content, row.hash)}\n`
      yield chunk
    }
  }
}

/** `{…content, "hash": …}`, written into the content's own JSON text (PostgreSQL's rendering of jsonb, one line). */
function withHash(content: string, hash: string): string {
  const member = `"hash": ${JSON.stringify(hash)}}`
  return content === '{}' ? `{${member}` : `${content.slice(0, -1)}, ${member}`
}
