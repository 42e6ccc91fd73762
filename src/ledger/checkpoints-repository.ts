import { sql, type ColumnType, type Generated, type Insertable, type Selectable } from 'kysely'
import type { Queryable } from '../db/database.js'
import type { ChainHead } from './checkpoints.js'

/** Timestamps come back as Date and go in as Date or RFC 3339 text. */
type Timestamp = ColumnType<Date, Date | string, Date | string>

/* eslint-disable @typescript-eslint/consistent-type-definitions -- Kysely's withTables wants type aliases: an interface has no implicit index signature. */
export type LedgerCheckpointsTable = {
  id: Generated<number>
  origin: string
  key_id: string
  /** base64 of the 32-byte Ed25519 public key that signed `note`. */
  public_key: string
  tree_size: number
  signed_at: Timestamp
  /** The signed note exactly as published. */
  note: string
}

export type LedgerCheckpointVerificationsTable = {
  id: Generated<number>
  checkpoint_id: number
  verified_at: Timestamp
  full_walk: boolean
  entries_checked: number
  key_id: string
  signature: string
}

/** A type alias (not an interface) so that it satisfies Kysely's table-map constraint in withTables. */
export type CheckpointTables = {
  ledger_checkpoints: LedgerCheckpointsTable
  ledger_checkpoint_verifications: LedgerCheckpointVerificationsTable
}
/* eslint-enable @typescript-eslint/consistent-type-definitions */

export type CheckpointRow = Selectable<LedgerCheckpointsTable>
export type VerificationRow = Selectable<LedgerCheckpointVerificationsTable>

function tables(db: Queryable) {
  return db.withTables<CheckpointTables>()
}

const CHECKPOINT_COLUMNS = ['id', 'origin', 'key_id', 'public_key', 'tree_size', 'signed_at', 'note'] as const

/**
 * The heads of every chain as of one moment: one statement, so one snapshot (a group's entries
 * and its heads commit together). `count` adds, as of the same moment, either the number of all
 * rows in ledger_entries (`all`), or of the rows past each chain's head (`beyond`, which costs
 * an index probe per chain whatever the ledger's size): verify compares them with the chains.
 */
export async function readHeads(
  db: Queryable,
  options: { count?: 'all' | 'beyond' } = {}
): Promise<{ heads: ChainHead[]; totalRows: number; rowsBeyond: Map<number, number> }> {
  const total = options.count === 'all' ? sql<number>`(SELECT count(*) FROM ledger_entries)` : sql<number>`0`
  const beyond = options.count === 'beyond' ? sql<number>`(SELECT count(*) FROM ledger_entries e WHERE e.chain = h.chain AND e.seq > h.seq)` : sql<number>`0`
  const { rows } = await sql<{ chain: number; seq: number; hash: string; total: number; beyond: number }>`
    SELECT h.chain, h.seq, h.hash, ${total} AS total, ${beyond} AS beyond FROM ledger_heads h ORDER BY h.chain`.execute(db)
  return {
    heads: rows.map(({ chain, seq, hash }) => ({ chain, seq: Number(seq), hash })),
    totalRows: Number(rows[0]?.total ?? 0),
    rowsBeyond: new Map(rows.filter((r) => Number(r.beyond) > 0).map((r) => [r.chain, Number(r.beyond)]))
  }
}

/** The entries at the given (chain, seq) positions, keyed "chain:seq"; a position with no entry is absent. */
export async function hashesAt(
  db: Queryable,
  positions: readonly { readonly chain: number; readonly seq: number }[]
): Promise<Map<string, { id: string; hash: string; position: number }>> {
  const wanted = positions.filter((p) => p.seq > 0)
  if (wanted.length === 0) return new Map()
  const { rows } = await sql<{ chain: number; seq: number; id: string; hash: string; position: number }>`
    SELECT e.chain, e.seq, e.id, e.hash, e.position
    FROM jsonb_to_recordset(${JSON.stringify(wanted.map(({ chain, seq }) => ({ chain, seq })))}::jsonb) AS p(chain integer, seq bigint)
    JOIN ledger_entries e ON e.chain = p.chain AND e.seq = p.seq`.execute(db)
  return new Map(rows.map((r) => [`${r.chain}:${Number(r.seq)}`, { id: r.id, hash: r.hash, position: Number(r.position) }]))
}

export async function insertCheckpoint(db: Queryable, row: Insertable<LedgerCheckpointsTable>): Promise<CheckpointRow> {
  return tables(db).insertInto('ledger_checkpoints').values(row).returning(CHECKPOINT_COLUMNS).executeTakeFirstOrThrow()
}

/** Newest first; `before` is the id of the last one served. */
export async function listCheckpoints(db: Queryable, page: { limit: number; before?: number | undefined }): Promise<{ rows: CheckpointRow[]; more: boolean }> {
  let query = tables(db).selectFrom('ledger_checkpoints').select(CHECKPOINT_COLUMNS)
  if (page.before !== undefined) query = query.where('id', '<', page.before)
  const rows = await query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute()
  return { rows: rows.slice(0, page.limit), more: rows.length > page.limit }
}

export async function latestCheckpoint(db: Queryable): Promise<CheckpointRow | undefined> {
  return tables(db).selectFrom('ledger_checkpoints').select(CHECKPOINT_COLUMNS).orderBy('id', 'desc').limit(1).executeTakeFirst()
}

/** The newest checkpoint with this origin, whichever key signed it: it names the key this database's checkpoints are signed with. */
export async function latestCheckpointOf(db: Queryable, origin: string): Promise<CheckpointRow | undefined> {
  return tables(db).selectFrom('ledger_checkpoints').select(CHECKPOINT_COLUMNS).where('origin', '=', origin).orderBy('id', 'desc').limit(1).executeTakeFirst()
}

/** Checkpoints signed by the key `keyId`, newest first, a page of `limit` before the id `before`. */
export async function checkpointsByKey(db: Queryable, keyId: string, limit: number, before?: number): Promise<CheckpointRow[]> {
  let query = tables(db).selectFrom('ledger_checkpoints').select(CHECKPOINT_COLUMNS).where('key_id', '=', keyId)
  if (before !== undefined) query = query.where('id', '<', before)
  return query.orderBy('id', 'desc').limit(limit).execute()
}

/** Checkpoints with an id above `after` (all when undefined), oldest first. */
export async function checkpointsAfter(db: Queryable, after: number | undefined): Promise<CheckpointRow[]> {
  let query = tables(db).selectFrom('ledger_checkpoints').select(CHECKPOINT_COLUMNS)
  if (after !== undefined) query = query.where('id', '>', after)
  return query.orderBy('id').execute()
}

/** The newest verifications, newest checkpoint first, each with its checkpoint. */
export async function recentVerifications(db: Queryable, limit: number): Promise<(VerificationRow & { checkpoint: CheckpointRow })[]> {
  const rows = await tables(db)
    .selectFrom('ledger_checkpoint_verifications as v')
    .innerJoin('ledger_checkpoints as c', 'c.id', 'v.checkpoint_id')
    .select([
      'v.id',
      'v.checkpoint_id',
      'v.verified_at',
      'v.full_walk',
      'v.entries_checked',
      'v.key_id',
      'v.signature',
      'c.origin',
      'c.key_id as c_key_id',
      'c.public_key',
      'c.tree_size',
      'c.signed_at',
      'c.note'
    ])
    .orderBy('v.checkpoint_id', 'desc')
    .orderBy('v.id', 'desc')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    id: r.id,
    checkpoint_id: r.checkpoint_id,
    verified_at: r.verified_at,
    full_walk: r.full_walk,
    entries_checked: r.entries_checked,
    key_id: r.key_id,
    signature: r.signature,
    checkpoint: {
      id: r.checkpoint_id,
      origin: r.origin,
      key_id: r.c_key_id,
      public_key: r.public_key,
      tree_size: r.tree_size,
      signed_at: r.signed_at,
      note: r.note
    }
  }))
}

export async function insertVerification(db: Queryable, row: Insertable<LedgerCheckpointVerificationsTable>): Promise<void> {
  await tables(db).insertInto('ledger_checkpoint_verifications').values(row).execute()
}

/** Serializes checkpoint takers across processes for one transaction (PostgreSQL advisory lock). */
export async function lockCheckpointing(db: Queryable): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${CHECKPOINT_LOCK})`.execute(db)
}

/** An arbitrary constant: "ckpt" in ASCII. */
const CHECKPOINT_LOCK = 0x636b7074
