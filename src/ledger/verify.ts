import { GENESIS_HASH, entryHash } from './hashing.js'

/** An entry as stored and exported: the hashed content plus its hash. */
export interface StoredEntry {
  readonly content: Readonly<Record<string, unknown>>
  readonly hash: string
  /** Columns kept beside the content for querying; they must agree with it. */
  readonly columns?: Readonly<Record<string, unknown>>
}

export interface VerifyFailure {
  readonly entryId: string | null
  readonly chain: number
  readonly seq: number
  readonly problem: string
}

/**
 * Checks one chain's entries, given in seq order, against the published algorithm. Returns the
 * first entry that does not verify, or null and the chain's head.
 */
export class ChainVerifier {
  private expectedSeq = 1
  private previousHash = GENESIS_HASH
  private count = 0

  constructor(readonly chain: number) {}

  get length(): number {
    return this.count
  }

  get headHash(): string {
    return this.previousHash
  }

  check(entry: StoredEntry): VerifyFailure | null {
    const { content } = entry
    const id = typeof content.id === 'string' ? content.id : null
    const fail = (problem: string): VerifyFailure => ({ entryId: id, chain: this.chain, seq: this.expectedSeq, problem })
    if (content.chain !== this.chain) return fail('the entry names another chain')
    if (content.seq !== this.expectedSeq) return fail(`expected seq ${this.expectedSeq}, found ${String(content.seq)}`)
    if (content.prevHash !== this.previousHash) return fail('prevHash does not match the previous entry')
    if (entryHash(content) !== entry.hash) return fail('the content does not match its hash')
    for (const [column, value] of Object.entries(entry.columns ?? {})) {
      if (value !== (content[column] ?? null)) return fail(`the stored ${column} differs from the hashed content`)
    }
    this.previousHash = entry.hash
    this.expectedSeq += 1
    this.count += 1
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
