import type { FastifyBaseLogger } from 'fastify'
import type { Database, Tx } from '../db/database.js'
import { classifyDatabaseError } from '../db/errors.js'
import { DomainError, LedgerUnavailableError, ValueOutOfRangeError } from '../errors.js'
import { LedgerWriter } from './writer.js'

/**
 * Maps a failure of a recorded act to what the caller is told. Once the ledger entries are being
 * written (or committed), any failure means the act is not on record: 503, nothing allowed. Before
 * that, an unreachable database is a 503 too, a refused value a 400, and anything else is ours (500).
 */
export function ledgerFailure(err: unknown, writing: boolean, log: FastifyBaseLogger): Error {
  if (err instanceof DomainError) return err
  const failure = classifyDatabaseError(err)
  if (failure === 'bad_input') return new ValueOutOfRangeError()
  if (writing || failure === 'unavailable') {
    log.error({ err }, 'ledger transaction failed')
    return new LedgerUnavailableError()
  }
  return err instanceof Error ? err : new Error(String(err))
}

/**
 * Runs `work` in one transaction with the given members' chains locked, then writes what it
 * appended. `work` gets the time read after the lock: an act committed before the lock was
 * granted is then always earlier than the decision, never after it.
 */
export async function withLedger<T>(
  database: Database,
  log: FastifyBaseLogger,
  memberIds: Iterable<string>,
  clock: () => Date,
  work: (tx: Tx, ledger: LedgerWriter, now: Date) => Promise<T>
): Promise<T> {
  let writing = false
  try {
    return await database.transaction(async (tx) => {
      const ledger = await LedgerWriter.lock(tx, memberIds)
      const result = await work(tx, ledger, clock())
      writing = true
      await ledger.flush()
      return result
    })
  } catch (err) {
    throw ledgerFailure(err, writing, log)
  }
}
