import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { PgCluster } from './pg-cluster.js'

/**
 * A Jepsen-style client history for fault tests: every call a test makes against the real server
 * is recorded as it was invoked and as it completed, and once the faults are over a checker
 * looks every acknowledged write up in the ledger and accounts for every ledger entry.
 *
 * An operation completes in one of three ways, as in Jepsen:
 * - `ok`: the service acknowledged it (a transfer's 201 or 403 with its entry, a batch's 200, a
 *   consent's 201); it must be in the ledger afterwards, exactly as answered.
 * - `fail`: the service refused it before recording anything (a 4xx other than a recorded 403).
 * - `info`: nobody knows: a 503 (the commit may have reached the database before the connection
 *   dropped), a 5xx, a network error or a time-out. Its entry may or may not exist; a retry with
 *   the same Idempotency-Key must then answer with that very entry, or record a fresh one if
 *   there is none, and never a second.
 *
 * Each logical write names members of its own (unique per operation), so that every entry in the
 * ledger can be traced to the one operation that could have written it, without looking inside
 * the service.
 */

export interface EntryRef {
  readonly id: string
  readonly chain: number
  readonly seq: number
  readonly hash: string
  readonly recordedAt?: string
}

/** An entry as GET /v1/ledger and GET /v1/ledger/{id} show it (the fields the checks use). */
export interface LedgerEntry extends EntryRef {
  readonly prevHash: string
  readonly kind: string
  readonly memberId: string
  readonly [field: string]: unknown
}

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The parsed JSON body, or undefined when it is not JSON. */
  readonly body: any
}

/** A thin HTTP client for one server, with a bearer token and a time-out on every call. */
export class Api {
  constructor(
    readonly url: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000
  ) {}

  /** @throws on a network error or a time-out (no answer at all). */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs)
    })
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return { status: res.status, headers: res.headers, text, body: parsed }
  }

  /**
   * A call that may be repeated safely (a read, or a write with an Idempotency-Key), repeated
   * while the service answers 503 or 429 (it sheds load, or the database is coming back) or
   * cannot be reached, up to `attempts` times `pauseMs` apart; then the last answer, or the error.
   */
  async retrying(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, attempts = 40, pauseMs = 250): Promise<Reply> {
    for (let attempt = 1; ; attempt++) {
      try {
        const reply = await this.call(method, path, body, headers)
        if ((reply.status !== 503 && reply.status !== 429) || attempt >= attempts) return reply
      } catch (err) {
        if (attempt >= attempts) throw err
      }
      await sleep(pauseMs)
    }
  }
}

export type Completion = 'ok' | 'fail' | 'info'

/** One attempt at an operation: its answer, or the error that stood for one. */
export interface Attempt {
  readonly status: number | 'network'
  /** The problem type's last segment (`ledger_unavailable`, …), or the network error's message. */
  readonly detail?: string
  /** The entries the answer names, in order (ok answers only). */
  readonly entries?: readonly EntryRef[]
  /** The answer said Idempotent-Replayed: true. */
  readonly replayed?: boolean
  /** What the caller asked to keep of the answer (`keep` of `invoke`); bodies are not kept. */
  readonly kept?: unknown
}

export interface Op {
  readonly index: number
  /** Which caller made it (a worker, a replica). */
  readonly process: string
  readonly f: string
  /** Members whose chains this operation writes to; unique to the operation for transfers and batches. */
  readonly members: readonly string[]
  readonly idempotencyKey: string | undefined
  /** What was sent; the body is dropped once answered when there is no key to retry it with. */
  request: { readonly method: string; readonly path: string; readonly body: unknown }
  readonly invokedAt: number
  type: 'invoke' | Completion
  completedAt?: number
  first?: Attempt
  /** Later attempts with the same Idempotency-Key (the first of them that got an answer is last). */
  readonly retries: Attempt[]
}

/** How an answer of each kind of operation names its entries; undefined: not an acknowledgement. */
type EntriesOf = (reply: Reply) => EntryRef[] | undefined

const transferEntries: EntriesOf = (reply) =>
  (reply.status === 201 || reply.status === 403) && reply.body?.entry?.id !== undefined ? [reply.body.entry as EntryRef] : undefined
const batchEntries: EntriesOf = (reply) =>
  reply.status === 200 && Array.isArray(reply.body?.results) ? (reply.body.results as { entry: EntryRef }[]).map((r) => r.entry) : undefined
/** Consent grants and withdrawals, suspensions: the body names its entry. */
export const memberActEntries: EntriesOf = (reply) =>
  (reply.status === 200 || reply.status === 201) && reply.body?.entry?.id !== undefined ? [reply.body.entry as EntryRef] : undefined

/** How the answers of an operation of kind `f` name their entries. */
function entriesOfKind(f: string): EntriesOf {
  return f === 'transfer' ? transferEntries : f === 'batch' ? batchEntries : memberActEntries
}

function problemCode(reply: Reply): string | undefined {
  const type = reply.body?.type
  return typeof type === 'string' ? type.slice(type.lastIndexOf('/') + 1) : undefined
}

/** Records the operations of one test run; see the file comment. */
export class History {
  readonly ops: Op[] = []
  private readonly started = performance.now()
  private okCount = 0

  /** Operations acknowledged so far (cheap, for polling). */
  get acknowledgedCount(): number {
    return this.okCount
  }

  /** Milliseconds since the history began. */
  now(): number {
    return Math.round(performance.now() - this.started)
  }

  /**
   * Invokes an operation and records how it completed; never throws for the service's answer or
   * a network error (that is what the history is for).
   */
  async invoke(
    api: Api,
    process: string,
    f: string,
    members: readonly string[],
    request: { method: string; path: string; body?: unknown; idempotencyKey?: string },
    entriesOf: EntriesOf = memberActEntries,
    keep?: (reply: Reply) => unknown
  ): Promise<Op> {
    const op: Op = {
      index: this.ops.length,
      process,
      f,
      members,
      idempotencyKey: request.idempotencyKey,
      request: { method: request.method, path: request.path, body: request.body },
      invokedAt: this.now(),
      type: 'invoke',
      retries: []
    }
    this.ops.push(op)
    const attempt = await History.attempt(api, op, entriesOf, keep)
    op.first = attempt
    op.completedAt = this.now()
    op.type = attempt.entries !== undefined ? 'ok' : attempt.status === 'network' || attempt.status >= 500 ? 'info' : 'fail'
    if (op.type === 'ok') this.okCount++
    if (op.idempotencyKey === undefined) op.request = { ...op.request, body: undefined }
    return op
  }

  /** POST /v1/transfers with an Idempotency-Key of the operation's own. */
  transfer(api: Api, process: string, body: { memberId: string }, idempotencyKey = `k-${body.memberId}`): Promise<Op> {
    return this.invoke(api, process, 'transfer', [body.memberId], { method: 'POST', path: '/v1/transfers', body, idempotencyKey }, transferEntries)
  }

  /** POST /v1/transfers/batch, with an Idempotency-Key of the operation's own unless told `null`. */
  batch(api: Api, process: string, items: readonly { memberId: string }[], idempotencyKey: string | null = `b-${items[0]?.memberId}`): Promise<Op> {
    const request = { method: 'POST', path: '/v1/transfers/batch', body: { items }, ...(idempotencyKey === null ? {} : { idempotencyKey }) }
    return this.invoke(
      api,
      process,
      'batch',
      items.map((i) => i.memberId),
      request,
      batchEntries
    )
  }

  private static async attempt(api: Api, op: Op, entriesOf: EntriesOf, keep?: (reply: Reply) => unknown): Promise<Attempt> {
    const headers: Record<string, string> = op.idempotencyKey === undefined ? {} : { 'idempotency-key': op.idempotencyKey }
    try {
      const reply = await api.call(op.request.method, op.request.path, op.request.body, headers)
      const entries = entriesOf(reply)
      return {
        status: reply.status,
        ...(entries === undefined ? { detail: problemCode(reply) ?? reply.text.slice(0, 200) } : { entries }),
        replayed: reply.headers.get('idempotent-replayed') === 'true',
        ...(keep === undefined ? {} : { kept: keep(reply) })
      }
    } catch (err) {
      return { status: 'network', detail: (err as Error).message }
    }
  }

  /**
   * Retries every indeterminate operation that has an Idempotency-Key with the same key and body
   * until it is answered (at most `attempts` times each, `pauseMs` apart), `concurrency` at a time.
   * Retries of an acknowledged operation go through `replayAcknowledged`.
   */
  async resolveIndeterminate(api: Api, options: { attempts?: number; pauseMs?: number; concurrency?: number } = {}): Promise<void> {
    const pending = this.ops.filter((op) => op.type === 'info' && op.idempotencyKey !== undefined)
    await eachLimited(pending, options.concurrency ?? 16, async (op) => {
      for (let i = 0; i < (options.attempts ?? 20); i++) {
        const attempt = await History.attempt(api, op, entriesOfKind(op.f))
        op.retries.push(attempt)
        if (attempt.entries !== undefined) return
        await sleep(options.pauseMs ?? 250)
      }
    })
  }

  /** Answers by status, per kind of operation: `{ "transfer 201": 812, "transfer 503": 40, … }`. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const op of this.ops) {
      const label = `${op.f} ${op.first?.status ?? 'pending'}${op.first?.detail && op.first.status !== 'network' ? ` ${op.first.detail}` : ''}`
      counts[label] = (counts[label] ?? 0) + 1
    }
    return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)))
  }

  acknowledged(f?: string): Op[] {
    return this.ops.filter((op) => op.type === 'ok' && (f === undefined || op.f === f))
  }

  indeterminate(f?: string): Op[] {
    return this.ops.filter((op) => op.type === 'info' && (f === undefined || op.f === f))
  }
}

/** What the checker found; each problem names the operation or entry and what is wrong with it. */
export interface CheckReport {
  readonly problems: string[]
  readonly acknowledged: number
  readonly indeterminate: number
  /** Indeterminate operations whose entry was there before their retry (committed, never answered). */
  readonly committedUnanswered: number
  /** Indeterminate operations recorded only by their retry. */
  readonly recordedByRetry: number
  /** Indeterminate batches, by what they left: all their entries or none. */
  readonly batchesAll: number
  readonly batchesNone: number
}

function sameRef(entry: LedgerEntry | undefined, ref: EntryRef): boolean {
  return entry?.id === ref.id && entry.chain === ref.chain && entry.seq === ref.seq && entry.hash === ref.hash
}

function describe(op: Op): string {
  return `op ${op.index} (${op.f} by ${op.process}, ${op.members.length === 1 ? op.members[0] : `${op.members.length} members`}, first answer ${op.first?.status}${op.first?.detail ? ` ${op.first.detail}` : ''})`
}

function groupByMember(entries: readonly LedgerEntry[]): Map<string, LedgerEntry[]> {
  const byMember = new Map<string, LedgerEntry[]>()
  for (const entry of entries) {
    const list = byMember.get(entry.memberId) ?? []
    list.push(entry)
    byMember.set(entry.memberId, list)
  }
  return byMember
}

/**
 * Checks a history against the ledger as it was before the retries (`before`) and after them
 * (`after`), both complete exports:
 * - every acknowledged operation's entries are in the ledger, with the answered chain, seq and
 *   hash, and its members have no other entry;
 * - an indeterminate transfer or batch with a key was answered by its retry, and: if its entries
 *   were there before the retry (all of them: a batch is all or nothing), the retry answered with
 *   exactly those entries (replayed); if none were, the retry recorded fresh ones; either way each
 *   of its members has exactly its one answered entry afterwards;
 * - an indeterminate batch without a key left all its entries or none, one per item;
 * - a failed operation left nothing;
 * - every entry of the ledger for the members the history writes to (those matching `scope`)
 *   belongs to one of its operations: nothing the callers were not told about, except the
 *   indeterminate ones above.
 * Only transfers and batches whose members all match `scope` are checked this way (members of
 * their own); of every other acknowledged act, each answered entry must be in `after` unchanged.
 */
export function checkHistory(
  history: History,
  before: readonly LedgerEntry[],
  after: readonly LedgerEntry[],
  scope: (memberId: string) => boolean
): CheckReport {
  const problems: string[] = []
  const beforeByMember = groupByMember(before.filter((e) => scope(e.memberId)))
  const afterByMember = groupByMember(after.filter((e) => scope(e.memberId)))
  const beforeIds = new Set(before.map((e) => e.id))
  const owned = new Set<string>()
  let committedUnanswered = 0
  let recordedByRetry = 0
  let batchesAll = 0
  let batchesNone = 0
  const writes = history.ops.filter((op) => (op.f === 'transfer' || op.f === 'batch') && op.members.every(scope))

  for (const op of writes) {
    for (const member of op.members) {
      if (owned.has(member)) problems.push(`${describe(op)}: member ${member} is used by two operations; the check cannot tell them apart`)
      owned.add(member)
    }
    const entriesOf = (member: string) => afterByMember.get(member) ?? []
    if (op.type === 'ok') {
      const refs = op.first!.entries!
      if (refs.length !== op.members.length) problems.push(`${describe(op)}: answered ${refs.length} entries for ${op.members.length} items`)
      refs.forEach((ref, i) => {
        const member = op.members[i]!
        const found = entriesOf(member)
        if (found.length !== 1 || !sameRef(found[0], ref)) {
          problems.push(
            `${describe(op)}: acknowledged entry ${ref.id} (chain ${ref.chain}, seq ${ref.seq}) of ${member} is ${found.length === 0 ? 'missing' : `not the ledger's only entry for it: ${JSON.stringify(found.map((e) => [e.id, e.chain, e.seq]))}`}`
          )
        }
        if (!beforeIds.has(ref.id)) problems.push(`${describe(op)}: acknowledged entry ${ref.id} was missing before the retries`)
      })
    } else if (op.type === 'info' && op.idempotencyKey !== undefined) {
      const answered = op.retries.find((a) => a.entries !== undefined)
      if (answered === undefined) {
        problems.push(`${describe(op)}: its retries were never answered (${op.retries.map((a) => a.status).join(', ')})`)
        continue
      }
      const refs = answered.entries!
      if (refs.length !== op.members.length) problems.push(`${describe(op)}: its retry answered ${refs.length} entries for ${op.members.length} items`)
      const earlier = op.members.map((member) => beforeByMember.get(member) ?? [])
      const recorded = earlier.filter((list) => list.length > 0).length
      if (earlier.some((list) => list.length > 1)) problems.push(`${describe(op)}: more than one entry for one item before its retry`)
      if (recorded === op.members.length) {
        committedUnanswered++
        const moved = refs.filter((ref, i) => !sameRef(earlier[i]![0], ref))
        if (moved.length > 0)
          problems.push(`${describe(op)}: what it asked was recorded, but the retry answered other entries (${moved.length}, e.g. ${moved[0]!.id})`)
        if (!answered.replayed) problems.push(`${describe(op)}: the retry of a recorded request was not a replay`)
      } else if (recorded === 0) {
        recordedByRetry++
        if (answered.replayed) problems.push(`${describe(op)}: the retry replayed an answer whose entries were not in the ledger`)
      } else {
        problems.push(`${describe(op)}: half written before its retry: ${recorded} of ${op.members.length} items were in the ledger`)
      }
      refs.forEach((ref, i) => {
        const found = entriesOf(op.members[i]!)
        if (found.length !== 1 || !sameRef(found[0], ref)) {
          problems.push(
            `${describe(op)}: after the retry ${op.members[i]} has ${JSON.stringify(found.map((e) => [e.id, e.chain, e.seq]))}, not just the answered ${ref.id}`
          )
        }
      })
    } else if (op.type === 'info' && op.f === 'batch') {
      const counts = op.members.map((m) => entriesOf(m).length)
      const present = counts.filter((n) => n > 0).length
      if (counts.some((n) => n > 1)) problems.push(`${describe(op)}: some items have more than one entry`)
      if (present === 0) batchesNone++
      else if (present === op.members.length) batchesAll++
      else problems.push(`${describe(op)}: a half-written batch: ${present} of ${op.members.length} items are in the ledger`)
    } else {
      const found = op.members.flatMap(entriesOf)
      if (found.length > 0) problems.push(`${describe(op)}: refused, yet the ledger holds ${found.map((e) => e.id).join(', ')}`)
    }
  }
  for (const [member, entries] of afterByMember) {
    if (!owned.has(member)) problems.push(`entries ${entries.map((e) => e.id).join(', ')} of ${member} belong to no operation of the history`)
  }
  // Acknowledged acts on shared members (consents, transfers outside the scope), and the retries
  // of those left indeterminate: each answered entry is in the ledger, unchanged.
  const checked = new Set(writes)
  const afterById = new Map(after.map((e) => [e.id, e]))
  for (const op of history.ops) {
    if (checked.has(op)) continue
    // An indeterminate act with a key was retried: what its retry answered counts as acknowledged.
    const answered =
      op.type === 'ok' ? op.first : op.type === 'info' && op.idempotencyKey !== undefined ? op.retries.find((a) => a.entries !== undefined) : undefined
    if (op.type === 'info' && op.idempotencyKey !== undefined && answered === undefined) {
      problems.push(`${describe(op)}: its retries were never answered (${op.retries.map((a) => a.status).join(', ')})`)
    }
    if (answered === undefined) continue
    for (const ref of answered.entries!) {
      const entry = afterById.get(ref.id)
      if (!sameRef(entry, ref))
        problems.push(`${describe(op)}: acknowledged entry ${ref.id} (chain ${ref.chain}, seq ${ref.seq}) is ${entry === undefined ? 'missing' : 'changed'}`)
    }
  }
  return {
    problems,
    acknowledged: writes.filter((op) => op.type === 'ok').length,
    indeterminate: writes.filter((op) => op.type === 'info').length,
    committedUnanswered,
    recordedByRetry,
    batchesAll,
    batchesNone
  }
}

const GENESIS = '0'.repeat(64)

/**
 * The shape of the chains in a complete export: no fork (two entries at one chain and seq), no
 * gap (seq 1..N in each chain), every prevHash the hash of the entry before, no id twice.
 */
export function checkChains(entries: readonly LedgerEntry[]): { problems: string[]; heads: Map<number, { length: number; hash: string }> } {
  const problems: string[] = []
  const ids = new Set<string>()
  const chains = new Map<number, LedgerEntry[]>()
  for (const entry of entries) {
    if (ids.has(entry.id)) problems.push(`entry id ${entry.id} appears twice`)
    ids.add(entry.id)
    const list = chains.get(entry.chain) ?? []
    list.push(entry)
    chains.set(entry.chain, list)
  }
  const heads = new Map<number, { length: number; hash: string }>()
  for (const [chain, list] of [...chains].sort(([a], [b]) => a - b)) {
    list.sort((a, b) => a.seq - b.seq)
    list.forEach((entry, i) => {
      if (entry.seq !== i + 1)
        problems.push(`chain ${chain}: position ${i + 1} holds seq ${entry.seq} (${i > 0 && list[i - 1]!.seq === entry.seq ? 'a fork' : 'a gap'})`)
      const prev = i === 0 ? GENESIS : list[i - 1]!.hash
      if (entry.prevHash !== prev) problems.push(`chain ${chain} seq ${entry.seq}: prevHash does not name the entry before`)
    })
    heads.set(chain, { length: list.length, hash: list.at(-1)!.hash })
  }
  return { problems, heads }
}

/**
 * Every entry, through GET /v1/ledger (newest first, 500 a page, following nextCursor), returned
 * in chain and seq order with the fields the checks use (id, chain, seq, hash, prevHash, kind,
 * memberId). Take it once writes have stopped: it is a complete copy then.
 */
export async function exportLedger(api: Api, maxPages = 10_000): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = []
  let cursor: string | null = null
  for (let page = 0; page < maxPages; page++) {
    const reply = await api.retrying('GET', `/v1/ledger?limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
    if (reply.status !== 200) throw new Error(`GET /v1/ledger: ${reply.status} ${reply.text.slice(0, 300)}`)
    // Only what the checks read: a long soak's ledger must fit in memory twice over.
    for (const { id, chain, seq, hash, prevHash, kind, memberId } of reply.body.entries as LedgerEntry[])
      entries.push({ id, chain, seq, hash, prevHash, kind, memberId })
    cursor = reply.body.nextCursor as string | null
    if (cursor === null) return entries.sort((a, b) => a.chain - b.chain || a.seq - b.seq)
  }
  throw new Error(`GET /v1/ledger: more than ${maxPages} pages`)
}

/** GET /v1/ledger/verify, which must answer 200. */
export async function verifyLedger(
  api: Api
): Promise<{ ok: boolean; entriesChecked: number; chains: { chain: number; length: number; headHash: string; ok?: boolean }[]; firstFailure?: unknown }> {
  const reply = await api.retrying('GET', '/v1/ledger/verify')
  if (reply.status !== 200) throw new Error(`GET /v1/ledger/verify: ${reply.status} ${reply.text.slice(0, 300)}`)
  return reply.body
}

/**
 * Looks every entry an acknowledged operation was answered with up by its id (GET /v1/ledger/{id})
 * and compares chain, seq, hash and member; returns the differences. With `limit`, only that many,
 * spread evenly over the history (`checkHistory` has compared every one with the export already).
 */
export async function lookUpAcknowledged(
  api: Api,
  history: History,
  options: { concurrency?: number; limit?: number } = {}
): Promise<{ problems: string[]; looked: number }> {
  const problems: string[] = []
  const all = history.acknowledged().flatMap((op) => op.first!.entries!.map((ref, i) => ({ op, ref, member: op.members[i] })))
  const step = options.limit === undefined ? 1 : Math.max(1, Math.ceil(all.length / options.limit))
  const wanted = all.filter((_, i) => i % step === 0)
  await eachLimited(wanted, options.concurrency ?? 16, async ({ op, ref, member }) => {
    const reply = await api.retrying('GET', `/v1/ledger/${ref.id}`)
    const entry = reply.body as LedgerEntry | undefined
    if (reply.status !== 200) problems.push(`${describe(op)}: GET /v1/ledger/${ref.id} answered ${reply.status}`)
    else if (!sameRef(entry, ref) || (member !== undefined && entry!.memberId !== member)) {
      problems.push(
        `${describe(op)}: entry ${ref.id} reads back as chain ${entry?.chain} seq ${entry?.seq} hash ${entry?.hash}, answered chain ${ref.chain} seq ${ref.seq} hash ${ref.hash}`
      )
    }
  })
  return { problems, looked: wanted.length }
}

/**
 * Repeats acknowledged transfers and batches with keys (up to `limit` of them) with the same key and body: each must
 * answer as the first time (status and entry) and say it is a replay.
 */
export async function replayAcknowledged(api: Api, history: History, limit = 200, concurrency = 16): Promise<{ problems: string[]; replayed: number }> {
  const problems: string[] = []
  const ops = history.ops.filter((op) => op.type === 'ok' && (op.f === 'transfer' || op.f === 'batch') && op.idempotencyKey !== undefined)
  const step = Math.max(1, Math.floor(ops.length / limit))
  const sample = ops.filter((_, i) => i % step === 0).slice(0, limit)
  await eachLimited(sample, concurrency, async (op) => {
    const reply = await api.retrying('POST', op.request.path, op.request.body, { 'idempotency-key': op.idempotencyKey! })
    const answered = op.first!.entries!
    const entries = entriesOfKind(op.f)(reply) ?? []
    const same = entries.length === answered.length && entries.every((entry, i) => entry.id === answered[i]!.id && entry.hash === answered[i]!.hash)
    if (reply.status !== op.first!.status || !same || reply.headers.get('idempotent-replayed') !== 'true') {
      problems.push(
        `${describe(op)}: its repeat answered ${reply.status} ${entries[0]?.id ?? reply.text.slice(0, 200)} (replayed: ${reply.headers.get('idempotent-replayed')})`
      )
    }
  })
  return { problems, replayed: sample.length }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!)
    })
  )
}

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined or false,
 * and returns that; throws naming `what` after `timeoutMs`. Errors of the probe count as "not yet".
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 50
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch {
      // Not yet.
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/** An allowed transfer (joint use with JCCU needs no setup). */
export function allowedTransfer(memberId: string) {
  return { channel: 'joint_use', memberId, purpose: 'ordering', serviceCategory: 'joint_purchasing', dataItems: ['name', 'address'], jointUser: 'JCCU' }
}

/** A denied, recorded transfer: a well-formed recipient id that names nobody. */
export function deniedTransfer(memberId: string) {
  return {
    channel: 'third_party',
    memberId,
    purpose: 'billing',
    serviceCategory: 'joint_purchasing',
    dataItems: ['name', 'bank_account'],
    recipientId: randomUUID(),
    method: 'electronic'
  }
}

/** Even n allowed, odd n denied: both answers are acknowledgements that must be in the ledger. */
export function mixedTransfer(memberId: string, n: number) {
  return n % 2 === 0 ? allowedTransfer(memberId) : deniedTransfer(memberId)
}

/** Sends `count` transfers at once (members `${prefix}-0…`, each with a key of its own) and waits for every answer. */
export function burst(history: History, api: Api, prefix: string, count: number): Promise<Op[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => history.transfer(api, `${prefix}-caller-${i}`, mixedTransfer(`${prefix}-${i}`, i))))
}

/**
 * Client backends of database `db` on a throwaway cluster matching an SQL condition on
 * pg_stat_activity, e.g. `xact_start IS NOT NULL` (a transaction open: a group commit in flight),
 * `wait_event_type = 'Lock'`, `wait_event = 'SyncRep'` (a COMMIT durable but held).
 */
export async function backendsOf(cluster: PgCluster, db: string, condition: string): Promise<number> {
  const [row] = await cluster.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND (${condition})`,
    'postgres',
    [db]
  )
  return row?.n ?? 0
}

export interface LoadOptions {
  readonly workers: number
  /** No more operations than this in all (a bound, whatever the faults do to the pace). */
  readonly maxOps: number
  /** A worker whose call was not acknowledged waits this long before its next one. */
  readonly pauseAfterFailureMs?: number
}

/**
 * Callers that each invoke one operation after another (`step(worker, n)`) until stopped or the
 * bound is reached. `step` records into the history; its Op tells the worker how it went.
 */
export class Load {
  private stopped = false
  private invoked = 0
  private readonly done: Promise<void>

  constructor(
    private readonly options: LoadOptions,
    step: (worker: number, n: number) => Promise<Op>
  ) {
    this.done = Promise.all(
      Array.from({ length: options.workers }, async (_, worker) => {
        while (!this.stopped && this.invoked < options.maxOps) {
          const op = await step(worker, this.invoked++)
          if (op.type !== 'ok') await sleep(options.pauseAfterFailureMs ?? 200)
        }
      })
    ).then(() => undefined)
  }

  /** Stops invoking and waits for every call in flight to complete. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.done
  }

  /** Whether the bound was reached (the load ended by itself). */
  get exhausted(): boolean {
    return this.invoked >= this.options.maxOps
  }
}

/** The assertions of a tap test that the audit uses. */
export type Asserter = Pick<Test, 'same' | 'equal' | 'ok' | 'comment'>

function assertNone(t: Asserter, problems: readonly string[], message: string): void {
  // The first few say what is wrong; thousands of lines would say no more.
  t.same(problems.slice(0, 20), [], problems.length === 0 ? message : `${message} (${problems.length} problems)`)
}

/**
 * The whole audit after the faults: retries every indeterminate write with its key, then checks
 * the history against the ledger (see `checkHistory`, `checkChains`), looks every acknowledged
 * entry up by id, repeats acknowledged transfers (replays, and nothing new written), and asks
 * GET /v1/ledger/verify, whose heads must match the export's. `before` is the complete export
 * taken once the faults were over and before any retry.
 */
export async function auditLedger(
  t: Asserter,
  api: Api,
  history: History,
  before: readonly LedgerEntry[],
  scope: (memberId: string) => boolean,
  options: { readonly lookUpLimit?: number } = {}
): Promise<CheckReport> {
  await history.resolveIndeterminate(api)
  const after = await exportLedger(api)
  const report = checkHistory(history, before, after, scope)
  t.comment(
    `history: ${history.ops.length} operations, ${report.acknowledged} acknowledged, ${report.indeterminate} indeterminate ` +
      `(${report.committedUnanswered} committed but unanswered, ${report.recordedByRetry} recorded by their retry, ` +
      `batches: ${report.batchesAll} all, ${report.batchesNone} none); answers: ${JSON.stringify(history.counts())}`
  )
  assertNone(t, report.problems, 'every acknowledged write is in the ledger as answered, and every entry belongs to an acknowledged or retried operation')
  const looked = await lookUpAcknowledged(api, history, options.lookUpLimit === undefined ? {} : { limit: options.lookUpLimit })
  assertNone(
    t,
    looked.problems,
    `${options.lookUpLimit === undefined ? 'every' : 'a sample of'} acknowledged entries (${looked.looked}) read back by id with the answered chain, seq and hash`
  )
  const replays = await replayAcknowledged(api, history)
  assertNone(t, replays.problems, `repeats of acknowledged transfers and batches (${replays.replayed}) answer as the first time`)
  const chains = checkChains(after)
  assertNone(t, chains.problems, `no fork, no gap, no broken link in ${after.length} entries`)
  const final = await exportLedger(api)
  t.equal(final.length, after.length, 'the repeats wrote nothing')
  const verify = await verifyLedger(api)
  t.equal(verify.ok, true, 'GET /v1/ledger/verify is ok')
  t.equal(verify.entriesChecked, final.length, 'verify checked every exported entry')
  const heads = verify.chains.filter((c) => c.length > 0).map((c) => [c.chain, c.length, c.headHash])
  t.same(
    heads,
    [...chains.heads].map(([chain, head]) => [chain, head.length, head.hash]),
    'verify names the heads the export ends with'
  )
  return report
}
