import type { Queryable } from '../db/database.js'
import { loadContractorFacts } from '../contractors/repository.js'
import { hasActiveSuspension, listConsents, toConsentFacts, type Consent } from '../members/repository.js'
import type { ContractorFacts, DecisionRequest, Facts, RecipientFacts } from '../policy/engine.js'
import { findRecipient } from '../recipients/repository.js'

/** The facts behind a decision, plus the records a ledger entry snapshots. */
export interface LoadedFacts extends Facts {
  readonly consentRecords: Consent[]
}

/**
 * Reads what the engine needs for this request, and nothing else. With `lock`, the recipient
 * or contractor row is share-locked for the caller's transaction.
 */
export async function loadFacts(db: Queryable, request: DecisionRequest, lock = false): Promise<LoadedFacts> {
  let recipient: RecipientFacts | null | undefined
  let contractor: ContractorFacts | null | undefined
  let consentRecords: Consent[] = []
  let suspended = false
  if (request.channel === 'third_party' && request.recipientId !== undefined) {
    recipient = (await findRecipient(db, request.recipientId, lock)) ?? null
    consentRecords = await listConsents(db, request.memberId)
    suspended = await hasActiveSuspension(db, request.memberId)
  } else if (request.channel === 'third_party') {
    recipient = null
  }
  if (request.channel === 'entrustment') {
    contractor = request.contractorId === undefined ? null : await loadContractorFacts(db, request.contractorId, lock)
  }
  return {
    ...(recipient === undefined ? {} : { recipient }),
    ...(contractor === undefined ? {} : { contractor }),
    consents: consentRecords.map(toConsentFacts),
    consentRecords,
    suspended
  }
}
