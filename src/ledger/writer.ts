import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { CopyFeed, copyIn, copyTextLine } from '../db/copy-in.js'
import type { Tx } from '../db/database.js'
import type { NewLedgerEntry } from '../db/tables.js'
import { storedContentHash } from './content-hash.js'
import type { EntryRef } from './entry-ref.js'
import { chainOf } from './hashing.js'

export type EntryKind = 'decision' | 'consent_granted' | 'consent_withdrawn' | 'suspension_created' | 'suspension_lifted'

export interface EntryDraft {
  readonly kind: EntryKind
  readonly memberId: string
  readonly clientId: string
  /** The legal person that provides (a decision) or that the member dealt with (a consent, a suspension). */
  readonly providerId: string
  readonly channel?: string | undefined
  readonly decision?: 'allow' | 'deny' | undefined
  readonly recipientId?: string | undefined
  readonly contractorId?: string | undefined
  /** The rest of what the entry records; hashed together with the envelope. */
  readonly body: Readonly<Record<string, unknown>>
}

/** A row of ledger_entries as it is sent: the time as ISO text, the content as the JSON text that was hashed. */
interface StagedEntry {
  readonly id: string
  readonly chain: number
  readonly seq: number
  readonly prev_hash: string
  readonly hash: string
  readonly recorded_at: string
  readonly kind: EntryKind
  readonly member_id: string
  readonly client_id: string
  readonly channel: string | null
  readonly decision: string | null
  readonly recipient_id: string | null
  readonly contractor_id: string | null
  readonly content: string
}

/** The columns of ledger_entries an append writes, in the order COPY sends them. */
export const ENTRY_COLUMNS = [
  'id',
  'chain',
  'seq',
  'prev_hash',
  'hash',
  'recorded_at',
  'kind',
  'member_id',
  'client_id',
  'channel',
  'decision',
  'recipient_id',
  'contractor_id',
  'content'
] as const satisfies readonly (keyof StagedEntry & keyof NewLedgerEntry)[]

function copyLineOf(entry: StagedEntry): string {
  return copyTextLine(ENTRY_COLUMNS.map((column) => entry[column]))
}

/** From this many entries on, a group on PostgreSQL is written with COPY (see `flush`). */
const COPY_FROM_ENTRIES = 100

export interface LedgerWriterOptions {
  /** Whether large groups may be sent with COPY: PostgreSQL, with `runMarkedCopies` on its pool. */
  readonly copy?: boolean | undefined
}

/** A COPY that takes the entries as they are appended. */
interface Stream {
  readonly feed: CopyFeed
  readonly done: Promise<unknown>
}

interface Head {
  seq: number
  hash: string
}

/**
 * Appends entries to the ledger inside the caller's transaction. `lock` takes the head rows of
 * the members' chains FOR UPDATE, in chain order so that two writers never deadlock; until the
 * transaction ends no other writer, in this process or another, can extend those chains, so a
 * chain never forks. Take the lock before reading the facts a decision rests on: a consent
 * withdrawal appends to the same chain, so it is either fully before or fully after.
 */
export class LedgerWriter {
  private readonly pending: StagedEntry[] = []
  private stream: Stream | undefined
  /** Chains with entries sent or staged since the last flush. */
  private readonly touched = new Set<number>()
  private failedToSend = false

  private constructor(
    private readonly tx: Tx,
    private readonly heads: Map<number, Head>,
    private readonly copy: boolean,
    /** Whether `startSending` streams: COPY is allowed and the group is large. */
    private readonly streamable: boolean
  ) {}

  /** @param memberIds one per entry the group may append, so their count is the group's size */
  static async lock(tx: Tx, memberIds: readonly string[], options: LedgerWriterOptions = {}): Promise<LedgerWriter> {
    const chains = [...new Set(memberIds.map(chainOf))].sort((a, b) => a - b)
    const rows = await tx.selectFrom('ledger_heads').select(['chain', 'seq', 'hash']).where('chain', 'in', chains).orderBy('chain').forUpdate().execute()
    if (rows.length !== chains.length) throw new Error('ledger heads are missing; the ledger migration has not run')
    const heads = new Map(rows.map((r) => [r.chain, { seq: r.seq, hash: r.hash }]))
    const copy = options.copy === true
    return new LedgerWriter(tx, heads, copy, copy && memberIds.length >= COPY_FROM_ENTRIES)
  }

  /** Whether sending the entries failed: they are not on record. */
  get sendFailed(): boolean {
    return this.failedToSend
  }

  private async sent(work: Promise<unknown>): Promise<void> {
    try {
      await work
    } catch (err) {
      this.failedToSend = true
      throw err
    }
  }

  /**
   * Call once the facts are read and before appending: in a large group on PostgreSQL, a COPY
   * begins and each entry is sent as it is appended, so PostgreSQL inserts while the rest are
   * decided and hashed. No other statement can run in the transaction until `flush` (or
   * `abandon`). Elsewhere it does nothing, and `flush` sends everything.
   */
  async startSending(): Promise<void> {
    if (!this.streamable || this.stream !== undefined) return
    const feed = new CopyFeed()
    const done = copyIn('ledger_entries', ENTRY_COLUMNS, feed).execute(this.tx)
    // Heard by `flush`; until then only kept from being unhandled.
    done.catch(() => {})
    this.stream = { feed, done }
    await this.sent(Promise.race([feed.ready(), done]))
  }

  /** Ends a COPY begun by `startSending` with a failure, so the transaction can roll back. */
  abandon(reason: Error): void {
    this.stream?.feed.abandon(reason)
  }

  /** Stages an entry and returns its reference; nothing is durable until `flush` and the commit. */
  append(draft: EntryDraft, now: Date): EntryRef {
    const chain = chainOf(draft.memberId)
    const head = this.heads.get(chain)
    if (head === undefined) throw new Error('the chain of this member was not locked')
    const id = randomUUID()
    const seq = head.seq + 1
    const recordedAt = now.toISOString()
    // The columns kept beside the content for filtering are in the content too, so that verify
    // can prove the filters see what was hashed. The content is serialized here, once: the text
    // is a snapshot (objects the body shares with the group's facts may change after this), it is
    // what is hashed (as verify hashes the stored text) and what is sent, and JSON.stringify drops
    // `undefined` members exactly as storing does.
    const content = JSON.stringify({
      ...draft.body,
      channel: draft.channel,
      decision: draft.decision,
      recipientId: draft.recipientId,
      contractorId: draft.contractorId,
      id,
      chain,
      seq,
      prevHash: head.hash,
      recordedAt,
      kind: draft.kind,
      memberId: draft.memberId,
      clientId: draft.clientId,
      providerId: draft.providerId
    })
    const hash = storedContentHash(content)
    const staged: StagedEntry = {
      id,
      chain,
      seq,
      prev_hash: head.hash,
      hash,
      recorded_at: recordedAt,
      kind: draft.kind,
      member_id: draft.memberId,
      client_id: draft.clientId,
      channel: draft.channel ?? null,
      decision: draft.decision ?? null,
      recipient_id: draft.recipientId ?? null,
      contractor_id: draft.contractorId ?? null,
      content
    }
    if (this.stream === undefined) this.pending.push(staged)
    else this.stream.feed.push(copyLineOf(staged))
    this.touched.add(chain)
    this.heads.set(chain, { seq, hash })
    return { id, chain, seq, hash, recordedAt }
  }

  /**
   * Writes the staged entries and moves the heads. The caller's commit makes them durable.
   *
   * A small group goes in one statement: the rows travel as one JSON parameter (no per-row bind
   * parameters to build or parse), each content in it as a string, the very text that was hashed,
   * which PostgreSQL parses into jsonb once, row by row (measured: a thousand rows as one jsonb
   * document took a third longer to insert, the document being parsed whole and each content then
   * copied out of it). A large group on PostgreSQL is sent with COPY (or its COPY, begun by
   * `startSending`, is ended), then the heads move in a second statement: from about a hundred
   * rows on, COPY saves more than that round trip costs.
   */
  async flush(): Promise<void> {
    const stream = this.stream
    this.stream = undefined
    if (stream !== undefined) {
      stream.feed.end()
      await this.sent(stream.done)
    }
    if (this.touched.size === 0) return
    const heads = JSON.stringify([...this.touched].sort((a, b) => a - b).map((chain) => ({ chain, ...this.heads.get(chain)! })))
    const moveHeads = sql`UPDATE ledger_heads AS h SET seq = v.seq, hash = v.hash
      FROM jsonb_to_recordset(${heads}::jsonb) AS v(chain integer, seq bigint, hash text)
      WHERE h.chain = v.chain`
    if (stream !== undefined) await this.sent(moveHeads.execute(this.tx))
    else if (this.copy && this.pending.length >= COPY_FROM_ENTRIES) {
      await this.sent(copyIn('ledger_entries', ENTRY_COLUMNS, this.pending.map(copyLineOf).join('')).execute(this.tx))
      await this.sent(moveHeads.execute(this.tx))
    } else {
      await this.sent(
        sql`WITH appended AS (
          INSERT INTO ledger_entries (id, chain, seq, prev_hash, hash, recorded_at, kind, member_id, client_id, channel, decision, recipient_id, contractor_id, content)
          SELECT id, chain, seq, prev_hash, hash, recorded_at, kind, member_id, client_id, channel, decision, recipient_id, contractor_id, content::jsonb
          FROM json_to_recordset(${JSON.stringify(this.pending)}::json) AS v(id uuid, chain integer, seq bigint, prev_hash text, hash text, recorded_at timestamptz,
            kind text, member_id text, client_id text, channel text, decision text, recipient_id uuid, contractor_id uuid, content text)
        )
        ${moveHeads}`.execute(this.tx)
      )
    }
    this.pending.length = 0
    this.touched.clear()
  }
}
