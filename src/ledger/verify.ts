import * as crypto from 'node:crypto'
import { GENESIS_HASH, entryHash } from './hashing.js'

/** An entry as stored and exported: the hashed content plus its hash. */
export interface StoredEntry {
  readonly content: Readonly<Record<string, unknown>>
  readonly hash: string
  /** Columns kept beside the content for querying; they must agree with it. */
  readonly columns?: Readonly<Record<string, unknown>>
}

/** The checkpoint a failure breaks: its head is no longer in the ledger as it signed it. */
export interface CheckpointRef {
  readonly id: number
  readonly time: string
  readonly treeSize: number
}

export interface VerifyFailure {
  readonly entryId: string | null
  readonly chain: number
  readonly seq: number
  readonly problem: string
  readonly checkpoint?: CheckpointRef
}

/**
 * Checks one chain's entries, given in seq order, against the published algorithm. Returns the
 * first entry that does not verify, or null and the chain's head. A chain can be checked from a
 * verified position on (`startSeq`, `startHash`) instead of from its first entry.
 */
export class ChainVerifier {
  private expectedSeq: number
  private previousHash: string
  private count: number

  constructor(
    readonly chain: number,
    startSeq = 0,
    startHash = GENESIS_HASH
  ) {
    this.expectedSeq = startSeq + 1
    this.previousHash = startHash
    this.count = startSeq
  }

  /** The chain's length so far: the seq of the last entry that verified. */
  get length(): number {
    return this.count
  }

  get headHash(): string {
    return this.previousHash
  }

  /** The next entry must have the next seq and link to the previous entry. */
  checkLinks(entryId: string | null, seq: unknown, prevHash: unknown): VerifyFailure | null {
    const fail = (problem: string): VerifyFailure => ({ entryId, chain: this.chain, seq: this.expectedSeq, problem })
    if (seq !== this.expectedSeq) return fail(`expected seq ${this.expectedSeq}, found ${String(seq)}`)
    if (prevHash !== this.previousHash) return fail('prevHash does not match the previous entry')
    return null
  }

  /** Records the entry that just verified. */
  accept(hash: string): void {
    this.previousHash = hash
    this.expectedSeq += 1
    this.count += 1
  }

  /** Fails the entry that is being checked. */
  failure(entryId: string | null, problem: string): VerifyFailure {
    return { entryId, chain: this.chain, seq: this.expectedSeq, problem }
  }

  /** The whole check on a parsed entry, with the reference canonicalization; accepts it when it verifies. */
  check(entry: StoredEntry): VerifyFailure | null {
    const { content } = entry
    const id = typeof content.id === 'string' ? content.id : null
    if (content.chain !== this.chain) return this.failure(id, 'the entry names another chain')
    const links = this.checkLinks(id, content.seq, content.prevHash)
    if (links) return links
    let hash: string
    try {
      hash = entryHash(content)
    } catch {
      return this.failure(id, 'the content cannot be canonicalized (RFC 8785)')
    }
    if (hash !== entry.hash) return this.failure(id, 'the content does not match its hash')
    for (const [column, value] of Object.entries(entry.columns ?? {})) {
      if (value !== (content[column] ?? null)) return this.failure(id, `the stored ${column} differs from the hashed content`)
    }
    this.accept(entry.hash)
    return null
  }

  /** The head row must point at the last entry, or entries were removed from the end. */
  checkHead(head: { seq: number; hash: string }): VerifyFailure | null {
    if (head.seq !== this.count || head.hash !== this.previousHash) {
      return { entryId: null, chain: this.chain, seq: head.seq, problem: 'the chain head does not match its last entry' }
    }
    return null
  }
}

// ---------------------------------------------------------------------------------------------
// Hashing an entry from the text PostgreSQL gives for its jsonb content

const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex')

/**
 * The entry hash of a stored content given as JSON text (`content::text`): the same value as
 * `entryHash(JSON.parse(text))` of hashing.ts, which stays the reference. Throws where the
 * reference throws (text that is not JSON, a number that is not finite, a lone surrogate).
 */
export function storedContentHash(text: string): string {
  const canonical = canonicalJsonText(text)
  return canonical === undefined ? entryHash(JSON.parse(text) as Record<string, unknown>) : sha256Hex(canonical)
}

/**
 * The members of an entry's content that the columns beside it repeat, as their canonical JSON
 * text (a string with its quotes); undefined for a member the content lacks.
 */
export const TOP_LEVEL_MEMBERS = ['id', 'chain', 'seq', 'prevHash', 'recordedAt', 'kind', 'memberId', 'clientId', 'channel', 'decision', 'recipientId', 'contractorId'] as const
export type TopLevelMembers = Partial<Record<(typeof TOP_LEVEL_MEMBERS)[number], string>>

/**
 * `storedContentHash` and, when the fast canonicalization takes the text, the members named in
 * TOP_LEVEL_MEMBERS; `members` is undefined when it declined (use the reference and JSON.parse).
 */
export function hashWithMembers(text: string): { hash: string; members: TopLevelMembers | undefined } {
  const members: TopLevelMembers = {}
  const canonical = canonicalJsonText(text, members)
  if (canonical === undefined) return { hash: entryHash(JSON.parse(text) as Record<string, unknown>), members: undefined }
  return { hash: sha256Hex(canonical), members }
}

/**
 * RFC 8785 (JCS) canonical text of a JSON text, without building the value: members of each
 * object are sorted by name and joined without whitespace; strings, names and literals are
 * copied; numbers are written as ECMAScript writes them. Returns undefined for any text it does
 * not take on (the caller then uses the reference), which keeps the result provably identical
 * to `canonicalize(JSON.parse(text))`:
 *
 *  - Text holding a backslash, a control character or a lone surrogate is declined. Every other
 *    JSON string is exactly what JSON.stringify (which JCS uses for strings) writes for its
 *    value: it escapes only `"`, `\`, control characters and lone surrogates, and an unescaped
 *    `"` cannot occur inside a JSON string. So the string tokens are copied unchanged, and a
 *    member name's token without its quotes is the name itself, compared as UTF-16 code units
 *    (JS `<`), as JCS sorts.
 *  - A number token must match the JSON grammar and be finite; it is written as
 *    JSON.stringify(Number(token)), which is what JCS prescribes (a short integer token is that
 *    already and is copied).
 *  - Duplicate member names, which JSON.parse would collapse, are declined.
 *  - Anything outside the JSON grammar is declined (the reference then throws as JSON.parse does).
 */
export function canonicalJsonText(text: string, topLevel?: TopLevelMembers): string | undefined {
  if (DECLINED.test(text) || !text.isWellFormed()) return undefined
  source = text
  at = 0
  depth = 0
  captured = topLevel
  try {
    skipSpace()
    const out = value()
    skipSpace()
    return at === source.length ? out : undefined
  } catch (err) {
    if (err === DECLINE) return undefined
    throw err
  } finally {
    source = ''
    captured = undefined
  }
}

const DECLINED = /[\u0000-\u001f\\]/
const DECLINE = new Error('declined')
const SHORT_INTEGER = /^-?[1-9][0-9]{0,14}$|^0$/
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/

let source = ''
let at = 0
let depth = 0
let captured: Record<string, string> | undefined
const CAPTURED: ReadonlySet<string> = new Set(TOP_LEVEL_MEMBERS)

function skipSpace(): void {
  // Control characters were declined, so the only JSON whitespace left is the space.
  while (source.charCodeAt(at) === 0x20) at += 1
}

function value(): string {
  switch (source.charCodeAt(at)) {
    case 0x22:
      return string()
    case 0x7b:
      return object()
    case 0x5b:
      return array()
    default:
      return scalar()
  }
}

function string(): string {
  const end = source.indexOf('"', at + 1)
  if (end < 0) throw DECLINE
  const token = source.slice(at, end + 1)
  at = end + 1
  return token
}

function object(): string {
  depth += 1
  at += 1
  skipSpace()
  if (source.charCodeAt(at) === 0x7d) {
    at += 1
    depth -= 1
    return '{}'
  }
  const names: string[] = []
  const members: string[] = []
  for (;;) {
    if (source.charCodeAt(at) !== 0x22) throw DECLINE
    const name = string()
    skipSpace()
    if (source.charCodeAt(at) !== 0x3a) throw DECLINE
    at += 1
    skipSpace()
    const bare = name.slice(1, -1)
    const member = value()
    names.push(bare)
    members.push(`${name}:${member}`)
    if (depth === 1 && captured !== undefined && CAPTURED.has(bare)) captured[bare] = member
    skipSpace()
    const next = source.charCodeAt(at)
    at += 1
    if (next === 0x7d) break
    if (next !== 0x2c) throw DECLINE
    skipSpace()
  }
  depth -= 1
  return `{${sortedMembers(names, members)}}`
}

/** Insertion sort of the members by name (objects are small); equal names are declined. */
function sortedMembers(names: string[], members: string[]): string {
  for (let i = 1; i < names.length; i += 1) {
    const name = names[i]!
    const member = members[i]!
    let j = i - 1
    while (j >= 0 && names[j]! >= name) {
      if (names[j] === name) throw DECLINE
      names[j + 1] = names[j]!
      members[j + 1] = members[j]!
      j -= 1
    }
    names[j + 1] = name
    members[j + 1] = member
  }
  return members.join(',')
}

function array(): string {
  depth += 1
  at += 1
  skipSpace()
  if (source.charCodeAt(at) === 0x5d) {
    at += 1
    depth -= 1
    return '[]'
  }
  const items: string[] = []
  for (;;) {
    items.push(value())
    skipSpace()
    const next = source.charCodeAt(at)
    at += 1
    if (next === 0x5d) break
    if (next !== 0x2c) throw DECLINE
    skipSpace()
  }
  depth -= 1
  return `[${items.join(',')}]`
}

function scalar(): string {
  const start = at
  for (;;) {
    const c = source.charCodeAt(at)
    if (c === 0x2c || c === 0x7d || c === 0x5d || c === 0x20 || Number.isNaN(c)) break
    at += 1
  }
  const token = source.slice(start, at)
  if (token === 'true' || token === 'false' || token === 'null') return token
  if (SHORT_INTEGER.test(token)) return token
  if (!NUMBER.test(token)) throw DECLINE
  const number = Number(token)
  if (!Number.isFinite(number)) throw DECLINE
  return JSON.stringify(number)
}
