import { sql } from 'kysely'
import type { StorageCapabilities } from '../db/capabilities.js'
import type { Db, Queryable } from '../db/database.js'
import type { ChainHead } from './checkpoints.js'
import { hashesAt, readHeads } from './checkpoints-repository.js'
import { CHAIN_COUNT, GENESIS_HASH } from './hashing.js'
import { hashWithRanges, isRanged, newRanges, slotOf, type TopLevelMember } from './content-hash.js'
import { pagingOf, prefetched, type Paging } from './paging.js'
import { ChainVerifier } from './verify.js'
import type { CheckpointRef, VerifyFailure } from './verify-schemas.js'

/** Time the walk may keep the event loop before it lets timers and I/O (other requests) run. */
const SLICE_MS = 10

/** Lets the event loop breathe every SLICE_MS of work: a long walk must not starve the requests in flight. */
class Breather {
  private since = performance.now()

  async breathe(): Promise<void> {
    if (performance.now() - this.since < SLICE_MS) return
    await new Promise((resolve) => setImmediate(resolve))
    this.since = performance.now()
  }
}

export interface ChainReport {
  readonly chain: number
  readonly ok: boolean
  /**
   * The seq up to which the chain verified: the entries checked now and, in an incremental
   * verify, those a verify checked before (up to the checkpoint it started from).
   */
  readonly length: number
  /** The hash of the last entry that verified (64 zeros for none). */
  readonly headHash: string
  readonly failure?: VerifyFailure
}

export interface VerifyReport {
  readonly ok: boolean
  /** Whether every entry was walked (`full`) or only those after a checkpoint verified before. */
  readonly mode: 'full' | 'incremental'
  /** The verified checkpoint the walk started from (its heads were found in the ledger), or null. */
  readonly from: CheckpointRef | null
  /** Entries whose hash was recomputed by this run. */
  readonly entriesChecked: number
  /** Checkpoints whose heads were checked against the ledger (`from` included). */
  readonly checkpointsChecked: number
  readonly chains: ChainReport[]
  /** The first failure, in chain order; every chain's own is in `chains`. */
  readonly firstFailure?: VerifyFailure
}

/** A checkpoint's heads, read from its signed note. */
export interface CheckpointHeads {
  readonly ref: CheckpointRef
  readonly heads: readonly ChainHead[]
}

export interface VerifyPlan {
  /** Walk each chain from this verified checkpoint's head on, after checking the head is still there. */
  readonly from?: CheckpointHeads | undefined
  /** Further checkpoints whose heads the ledger must still hold. */
  readonly checkpoints: readonly CheckpointHeads[]
}

/**
 * Walks every chain in seq order through the verifier, up to the heads read first, and checks
 * that the ledger still holds every head of the plan's checkpoints. A broken chain stops at its
 * first bad entry, but the other chains are still checked: one break must not hide tampering
 * elsewhere. Takes no locks. With several connections it reads in one repeatable-read,
 * read-only snapshot of `db` (its own connection; writers go on), the primary's or a standby's: the plan (where to
 * start, which checkpoints to hold the ledger to) is read in that same snapshot, so a standby
 * that lags the primary is checked as the ledger stood at its point of the primary's history,
 * never against a checkpoint it has not received yet. The embedded database has a single
 * connection, which a transaction would hold for the whole walk, so there it reads statement by statement, and writers get the
 * connection between pages: the heads and the row count come from one statement, and the
 * entries up to those heads never change, so the walk still sees one consistent ledger.
 */
export async function verifyLedger<P extends VerifyPlan>(
  db: Db,
  storage: Pick<StorageCapabilities, 'pageRows' | 'overlappingCommits'>,
  planIn: (snapshot: Queryable) => Promise<P>
): Promise<{ plan: P; report: VerifyReport }> {
  const paging = pagingOf(storage)
  const walk = async (snapshot: Queryable) => {
    const plan = await planIn(snapshot)
    return { plan, report: await verifySnapshot(snapshot, plan, paging) }
  }
  if (!storage.overlappingCommits) return walk(db)
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(walk)
}

/** What the walk reads of an entry: the content as text and the columns that repeat it. */
interface WalkRow {
  position: number
  chain: number
  seq: number
  prev_hash: string
  hash: string
  /** The jsonb content as PostgreSQL writes it. */
  content: string
  /** recorded_at in milliseconds since the epoch (with a fraction for sub-millisecond instants). */
  recorded_ms: number
  /** The other columns that repeat the content, in one text: see FACTS. */
  facts: string
}

/**
 * The string columns that repeat members of the content, joined by U+001F: id, member_id, kind,
 * client_id, then channel, decision, recipient_id, contractor_id each as "=" and its value, or
 * empty for NULL. One text instead of eight keeps the rows small. A fast-path content never holds
 * U+001F (control characters are declined), so a column holding one can only cause a mismatch.
 */
const FACTS = sql`concat_ws(E'\x1f', id::text, member_id, kind, client_id, coalesce('=' || channel, ''), coalesce('=' || decision, ''),
  coalesce('=' || recipient_id::text, ''), coalesce('=' || contractor_id::text, ''))`
const FACT_MEMBERS: readonly { slot: number; nullable: boolean }[] = (
  ['id', 'memberId', 'kind', 'clientId', 'channel', 'decision', 'recipientId', 'contractorId'] as const
).map((name, index) => ({ slot: slotOf(name), nullable: index >= 4 }))

const WALK_COLUMNS = sql`position, chain, seq, prev_hash, hash, content::text AS content,
  (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_ms, ${FACTS} AS facts`

/** A PostgreSQL array literal of integers. */
const bigints = (values: readonly number[]) => `{${values.join(',')}}`

/**
 * Entries in insertion order (position) after `after`, of each chain the rows with
 * lo[chain] < seq <= hi[chain]. Insertion order reads the table front to back, where a walk
 * chain by chain would visit every page sixteen times; a chain's entries are inserted in seq order.
 */
async function positionPage(db: Queryable, paging: Paging, after: number, lo: string, hi: string): Promise<WalkRow[]> {
  const { rows } = await sql<WalkRow>`
    SELECT ${WALK_COLUMNS} FROM ledger_entries
    WHERE position > ${after} AND seq > (${lo}::bigint[])[chain + 1] AND seq <= (${hi}::bigint[])[chain + 1]
    ORDER BY position LIMIT ${paging.rows}`.execute(db)
  return rows
}

/** One chain's entries in seq order, for a chain whose insertion order is not its seq order. */
async function seqPage(db: Queryable, paging: Paging, chain: number, after: number, upTo: number): Promise<WalkRow[]> {
  const { rows } = await sql<WalkRow>`
    SELECT ${WALK_COLUMNS} FROM ledger_entries
    WHERE chain = ${chain} AND seq > ${after} AND seq <= ${upTo}
    ORDER BY seq LIMIT ${paging.rows}`.execute(db)
  return rows
}

/** Whether the string token at [start, end) of `text` is exactly `"` + facts[from, to) + `"`. */
function sameString(text: string, start: number, end: number, facts: string, from: number, to: number): boolean {
  if (start < 0 || end - start !== to - from + 2 || text.charCodeAt(start) !== 0x22 || text.charCodeAt(end - 1) !== 0x22) return false
  for (let i = start + 1, j = from; j < to; i += 1, j += 1) if (text.charCodeAt(i) !== facts.charCodeAt(j)) return false
  return true
}

/** Whether the token at [start, end) of `text` is exactly `value`. */
function sameToken(text: string, start: number, end: number, value: string): boolean {
  return start >= 0 && end - start === value.length && text.startsWith(value, start)
}

/** Whether the columns beside the content repeat it exactly (the ranges of hashWithRanges). */
function columnsAgree(text: string, ranges: Int32Array, row: WalkRow): boolean {
  const at = (name: TopLevelMember) => 2 * slotOf(name)
  const chain = at('chain')
  if (!sameToken(text, ranges[chain]!, ranges[chain + 1]!, String(row.chain))) return false
  const seq = at('seq')
  if (!sameToken(text, ranges[seq]!, ranges[seq + 1]!, String(row.seq))) return false
  const prev = at('prevHash')
  if (!sameToken(text, ranges[prev]!, ranges[prev + 1]!, `"${row.prev_hash}"`)) return false
  const recorded = at('recordedAt')
  const [start, end] = [ranges[recorded]!, ranges[recorded + 1]!]
  if (start < 0 || Date.parse(text.slice(start + 1, end - 1)) !== Number(row.recorded_ms)) return false
  const { facts } = row
  let from = 0
  for (const [index, { slot, nullable }] of FACT_MEMBERS.entries()) {
    const to = index === FACT_MEMBERS.length - 1 ? facts.length : facts.indexOf('\x1f', from)
    if (to < 0) return false
    const [s, e] = [ranges[2 * slot]!, ranges[2 * slot + 1]!]
    if (nullable && (s < 0 || sameToken(text, s, e, 'null'))) {
      if (to !== from) return false
    } else if (nullable) {
      if (facts.charCodeAt(from) !== 0x3d || !sameString(text, s, e, facts, from + 1, to)) return false
    } else if (!sameString(text, s, e, facts, from, to)) return false
    from = to + 1
  }
  return from === facts.length + 1
}

/** The failure of an entry whose columns disagree with its content, found with the reference algorithm. */
async function checkEntrySlowly(db: Queryable, verifier: ChainVerifier, chain: number, seq: number): Promise<VerifyFailure | null> {
  const row = await db
    .selectFrom('ledger_entries')
    .select(['id', 'seq', 'hash', 'prev_hash', 'member_id', 'kind', 'channel', 'decision', 'client_id', 'recipient_id', 'contractor_id'])
    .select([sql<string>`content::text`.as('content_text'), sql<string>`to_json(recorded_at)#>>'{}'`.as('recorded_at_text')])
    .where('chain', '=', chain)
    .where('seq', '=', seq)
    .executeTakeFirstOrThrow()
  let content: Record<string, unknown>
  try {
    content = JSON.parse(row.content_text) as Record<string, unknown>
  } catch {
    return verifier.failure(row.id, 'the content is not JSON')
  }
  const failure = verifier.check({
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
  })
  return failure ?? sameInstant(content.recordedAt, row.recorded_at_text, row.id, chain, row.seq)
}

/** One checkpoint head that the walk must meet. */
export interface Expectation {
  readonly seq: number
  readonly hash: string
  readonly ref: CheckpointRef
}

/** The failure of a checkpoint head the ledger no longer holds (`found`: what is there now). */
export function rewritten(expectation: Expectation, chain: number, found: { id: string; hash: string } | undefined): VerifyFailure {
  const { ref, seq, hash } = expectation
  const now = found ? `the ledger now has ${found.hash} there` : 'the ledger has no entry there'
  return {
    entryId: found?.id ?? null,
    chain,
    seq,
    problem: `checkpoint ${ref.id} (${ref.time}) signed head ${hash} at seq ${seq} of chain ${chain}; ${now}: the chain was rewritten since`,
    checkpoint: ref
  }
}

/** One chain's walk: its verifier, the checkpoint heads it must meet, and how it ended. */
class ChainWalk {
  readonly verifier: ChainVerifier
  failure: VerifyFailure | null = null
  /** A row came out of seq order in the insertion-order walk: the chain is walked again by seq. */
  outOfOrder = false
  checked = 0
  private next = 0

  constructor(
    readonly chain: number,
    start: { seq: number; hash: string },
    /** Checkpoint heads beyond the start, by seq then checkpoint. */
    private readonly expectations: readonly Expectation[]
  ) {
    this.verifier = new ChainVerifier(chain, start.seq, start.hash)
  }

  /** Checks the chain's next entry; a failure ends the walk of this chain. */
  async take(db: Queryable, row: WalkRow): Promise<void> {
    this.checked += 1
    const seq = Number(row.seq)
    const fast = checkEntry(this.verifier, row)
    this.failure = fast === COLUMNS_DISAGREE ? await checkEntrySlowly(db, this.verifier, this.chain, seq) : fast
    this.failure ??= this.meet(entryIdOf(row), seq, row.hash)
  }

  /** After an entry verified: the checkpoints with a head at its seq must have signed its hash. */
  private meet(id: string, seq: number, hash: string): VerifyFailure | null {
    while (this.next < this.expectations.length && this.expectations[this.next]!.seq <= seq) {
      const expectation = this.expectations[this.next]!
      this.next += 1
      if (expectation.seq === seq && expectation.hash !== hash) return rewritten(expectation, this.chain, { id, hash })
    }
    return null
  }

  /** At the end of the chain, checkpoint heads beyond it mean entries were removed. */
  unmet(): VerifyFailure | null {
    const expectation = this.expectations[this.next]
    return expectation ? rewritten(expectation, this.chain, undefined) : null
  }

  report(): ChainReport {
    const { chain, verifier, failure } = this
    return { chain, ok: failure === null, length: verifier.length, headHash: verifier.headHash, ...(failure ? { failure } : {}) }
  }
}

const COLUMNS_DISAGREE = 'columns disagree'

/**
 * The fast path: hashes the content text and, when the columns beside it repeat its members
 * exactly, checks seq and prevHash from the columns and accepts the entry. Returns the failure,
 * null when it accepted the entry, or COLUMNS_DISAGREE: then the reference check (which names
 * the column) decides.
 */
function checkEntry(verifier: ChainVerifier, row: WalkRow): VerifyFailure | null | typeof COLUMNS_DISAGREE {
  let hash: string
  try {
    hash = hashWithRanges(row.content, RANGES)
  } catch {
    return verifier.failure(entryIdOf(row), 'the content cannot be canonicalized (RFC 8785)')
  }
  if (!isRanged(RANGES) || !columnsAgree(row.content, RANGES, row)) return COLUMNS_DISAGREE
  const id = entryIdOf(row)
  const links = verifier.checkLinks(id, Number(row.seq), row.prev_hash)
  if (links) return links
  if (hash !== row.hash) return verifier.failure(id, 'the content does not match its hash')
  verifier.accept(row.hash)
  return null
}

const RANGES = newRanges()

/** The entry's id: the first of its facts (the id column). */
const entryIdOf = (row: WalkRow): string => row.facts.slice(0, row.facts.indexOf('\x1f'))

async function verifySnapshot(db: Queryable, plan: VerifyPlan, paging: Paging): Promise<VerifyReport> {
  const full = plan.from === undefined
  const { heads, totalRows, rowsBeyond } = await readHeads(db, { count: full ? 'all' : 'beyond' })
  const failures: VerifyFailure[] = heads
    .filter((h) => h.chain < 0 || h.chain >= CHAIN_COUNT)
    .map((h) => ({ entryId: null, chain: h.chain, seq: h.seq, problem: 'a head exists for a chain outside the ledger' }))
  const headOf = (chain: number) => heads.find((h) => h.chain === chain)
  const checkpoints = plan.from ? [plan.from, ...plan.checkpoints] : [...plan.checkpoints]
  const starts = Array.from({ length: CHAIN_COUNT }, (_, chain) => plan.from?.heads[chain] ?? { chain, seq: 0, hash: GENESIS_HASH })

  // Checkpoint heads at or before where the walk starts are looked up; the others are met on the way.
  const behind: (Expectation & { chain: number })[] = []
  const ahead: Expectation[][] = starts.map(() => [])
  for (const checkpoint of checkpoints) {
    for (const head of checkpoint.heads) {
      const start = starts[head.chain]
      if (start === undefined || head.seq === 0) continue
      const expectation = { seq: head.seq, hash: head.hash, ref: checkpoint.ref }
      if (head.seq <= start.seq) behind.push({ ...expectation, chain: head.chain })
      else ahead[head.chain]!.push(expectation)
    }
  }
  for (const list of ahead) list.sort((a, b) => a.seq - b.seq || a.ref.id - b.ref.id)
  behind.sort((a, b) => a.seq - b.seq || a.ref.id - b.ref.id)
  // The entries the walk starts after (for an empty start, the chain's first entry), to find
  // where in insertion order the walk must begin.
  const firsts = starts.map((s) => ({ chain: s.chain, seq: s.seq === 0 ? 1 : s.seq }))
  const found = await hashesAt(db, [...behind, ...firsts])

  const walks = starts.map((start, chain) => new ChainWalk(chain, start, ahead[chain]!))
  for (const expectation of behind) {
    const walk = walks[expectation.chain]!
    const there = found.get(`${expectation.chain}:${expectation.seq}`)
    if (walk.failure === null && there?.hash !== expectation.hash) walk.failure = rewritten(expectation, expectation.chain, there)
  }

  // Every chain at once in insertion order, from the first entry after the starts …
  const upTo = walks.map((w) => headOf(w.chain)?.seq ?? 0)
  const from = walks.map((w) => (w.failure ? upTo[w.chain]! : w.verifier.length))
  const startPositions = starts.map((s) => {
    const position = found.get(`${s.chain}:${s.seq === 0 ? 1 : s.seq}`)?.position
    // A chain still empty has nothing to walk; a start entry that is missing was reported above.
    if (position === undefined) return s.seq === 0 ? Number.POSITIVE_INFINITY : 0
    return s.seq === 0 ? position - 1 : position
  })
  const after = full ? 0 : Math.min(...startPositions)
  const [lo, hi] = [bigints(from), bigints(upTo)]
  const breather = new Breather()
  const walked = Number.isFinite(after)
    ? prefetched(
        paging,
        (position) => positionPage(db, paging, position, lo, hi),
        (row) => Number(row.position),
        after
      )
    : []
  for await (const rows of walked) {
    for (const row of rows) {
      await breather.breathe()
      const walk = walks[row.chain]
      if (!walk || walk.failure || walk.outOfOrder) continue
      if (Number(row.seq) !== walk.verifier.length + 1) walk.outOfOrder = true
      else await walk.take(db, row)
    }
  }
  // A chain that ended short of its head in insertion order may hold rows elsewhere: walked by seq.
  for (const walk of walks) if (!walk.failure && walk.verifier.length < upTo[walk.chain]!) walk.outOfOrder = true
  // … then, chain by chain in seq order, any chain whose rows did not come in seq order.
  for (const walk of walks) {
    if (!walk.outOfOrder || walk.failure) continue
    const pages = prefetched(
      paging,
      (seq) => seqPage(db, paging, walk.chain, seq, upTo[walk.chain]!),
      (row) => Number(row.seq),
      walk.verifier.length,
      () => walk.failure !== null
    )
    for await (const rows of pages) {
      for (const row of rows) {
        await breather.breathe()
        if (walk.failure) break
        if (Number(row.seq) !== walk.verifier.length + 1) walk.failure = walk.verifier.checkLinks(entryIdOf(row), Number(row.seq), row.prev_hash)
        else await walk.take(db, row)
      }
    }
  }

  let entriesChecked = 0
  const chains = walks.map((walk) => {
    entriesChecked += walk.checked
    if (walk.failure === null) {
      const head = headOf(walk.chain)
      walk.failure = walk.unmet() ?? (head ? walk.verifier.checkHead(head) : { entryId: null, chain: walk.chain, seq: 0, problem: 'the chain has no head' })
    }
    if (walk.failure === null && rowsBeyond.has(walk.chain)) {
      walk.failure = {
        entryId: null,
        chain: walk.chain,
        seq: upTo[walk.chain]! + 1,
        problem: `${rowsBeyond.get(walk.chain)} entries lie past the chain's head`
      }
    }
    if (walk.failure) failures.push(walk.failure)
    return walk.report()
  })
  // Rows outside the walked chains (a forged chain or seq, a row past its head) would otherwise
  // go unseen. A broken chain leaves its tail unwalked, so this is only meaningful when every
  // chain verified. (An incremental verify counts the rows past each head instead, above.)
  const length = chains.reduce((sum, c) => sum + c.length, 0)
  if (full && failures.length === 0 && totalRows !== length) {
    const problem = totalRows > length ? `${totalRows - length} entries lie outside every chain` : `${length - totalRows} entries are missing from the chains`
    failures.push({ entryId: null, chain: -1, seq: 0, problem })
  }
  failures.sort((a, b) => a.chain - b.chain)
  const [firstFailure] = failures
  const report = {
    ok: firstFailure === undefined,
    mode: full ? ('full' as const) : ('incremental' as const),
    from: plan.from?.ref ?? null,
    entriesChecked,
    checkpointsChecked: checkpoints.length,
    chains
  }
  return firstFailure ? { ...report, firstFailure } : report
}

function sameInstant(hashed: unknown, stored: string, entryId: string, chain: number, seq: number): VerifyFailure | null {
  if (typeof hashed === 'string' && new Date(hashed).getTime() === new Date(stored).getTime()) return null
  return { entryId, chain, seq, problem: 'the stored recordedAt differs from the hashed content' }
}
