import canonicalize from 'canonicalize'
import { createHash } from 'node:crypto'

/** The number of hash chains; a member's entries always land in the same one. */
export const CHAIN_COUNT = 16
export const GENESIS_HASH = '0'.repeat(64)

/**
 * The chain of a member: the first four bytes of SHA-256(memberId) as an unsigned big-endian
 * integer, modulo CHAIN_COUNT. Spreading members over chains lets appends for different
 * members proceed in parallel, each behind its own head lock.
 */
export function chainOf(memberId: string): number {
  return createHash('sha256').update(memberId, 'utf8').digest().readUInt32BE(0) % CHAIN_COUNT
}

/**
 * An entry's hash: lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the entry
 * without its `hash` field. The hashed object includes `chain`, `seq` and `prevHash`, so each
 * hash commits to everything before it in the chain.
 */
export function entryHash(content: Readonly<Record<string, unknown>>): string {
  const text = canonicalize(content)
  if (text === undefined) throw new TypeError('entry content cannot be canonicalized')
  return createHash('sha256').update(text, 'utf8').digest('hex')
}
