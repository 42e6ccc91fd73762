import type { FastifyBaseLogger } from 'fastify'
import type { Database, Tx } from '../db/database.js'
import { DomainError, LedgerUnavailableError } from '../errors.js'
import { LedgerWriter } from './writer.js'

/**
 * Runs `work` in one transaction with the given members' chains locked, then writes what it
 * appended. `work` gets the time read after the lock: an act committed before the lock was
 * granted is then always earlier than the decision, never after it. Domain errors pass through
 * (and roll back); any other failure, the commit's included, becomes a 503 so the caller can
 * never read an unrecorded act as done.
 */
export async function withLedger<T>(
  database: Database,
  log: FastifyBaseLogger,
  memberIds: Iterable<string>,
  clock: () => Date,
  work: (tx: Tx, ledger: LedgerWriter, now: Date) => Promise<T>
): Promise<T> {
  try {
    return await database.transaction(async (tx) => {
      const ledger = await LedgerWriter.lock(tx, memberIds)
      const result = await work(tx, ledger, clock())
      await ledger.flush()
      return result
    })
  } catch (err) {
    if (err instanceof DomainError) throw err
    log.error({ err }, 'ledger transaction failed')
    throw new LedgerUnavailableError()
  }
}
