import { GENESIS_HASH, entryHash } from './hashing.js'
import type { VerifyFailure } from './verify-schemas.js'

/** An entry as stored and exported: the hashed content plus its hash. */
export interface StoredEntry {
  readonly content: Readonly<Record<string, unknown>>
  readonly hash: string
  /** Columns kept beside the content for querying; they must agree with it. */
  readonly columns?: Readonly<Record<string, unknown>>
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
