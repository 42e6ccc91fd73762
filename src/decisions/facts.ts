import { toContractorFacts } from '../contractors/repository.js'
import type { Queryable } from '../db/database.js'
import { toConsent, toConsentFacts, toSuspension, type Consent, type Suspension } from '../members/repository.js'
import type { ContractorFacts, DecisionRequest, Facts, RecipientFacts } from '../policy/engine.js'
import { toRecipient } from '../recipients/repository.js'
import { loadFactRows } from './facts-repository.js'

/** What a group of acts needs to know: recipients, contractors, and the members it touches. */
export interface FactsNeeded {
  readonly recipientIds: Set<string>
  readonly contractorIds: Set<string>
  /** Members whose consents and suspensions the acts read or change. */
  readonly memberIds: Set<string>
}

export function noFactsNeeded(): FactsNeeded {
  return { recipientIds: new Set(), contractorIds: new Set(), memberIds: new Set() }
}

/** Adds what deciding `request` reads; joint use and statutory exceptions read nothing. */
export function needFactsFor(needed: FactsNeeded, request: DecisionRequest): void {
  if (request.channel === 'third_party') {
    if (request.recipientId !== undefined) needed.recipientIds.add(request.recipientId)
    needed.memberIds.add(request.memberId)
  } else if (request.channel === 'entrustment' && request.contractorId !== undefined) {
    needed.contractorIds.add(request.contractorId)
  }
}

/** A member's consents and suspensions as they stand, changed in place as a group's acts apply. */
export interface MemberState {
  consents: Consent[]
  suspensions: Suspension[]
}

/**
 * The world as a group of acts sees it: read once with one query per table for the whole group,
 * then kept up to date in memory as each act applies, so an act sees every act before it.
 */
export class World {
  private constructor(
    private readonly recipients: Map<string, RecipientFacts>,
    private readonly contractors: Map<string, ContractorFacts>,
    private readonly members: Map<string, MemberState>
  ) {}

  /** @param lock share-lock the recipient and contractor rows (inside a recording transaction). */
  static async load(db: Queryable, needed: FactsNeeded, lock: boolean): Promise<World> {
    const memberIds = [...needed.memberIds]
    const facts = await loadFactRows(db, { recipientIds: [...needed.recipientIds], contractorIds: [...needed.contractorIds], memberIds }, lock)
    const members = new Map<string, MemberState>(memberIds.map((id) => [id, { consents: [], suspensions: [] }]))
    for (const row of facts.consents) members.get(row.member_id)?.consents.push(toConsent(row))
    for (const row of facts.suspensions) members.get(row.member_id)?.suspensions.push(toSuspension(row))
    return new World(
      new Map(facts.recipients.map((row) => [row.id, toRecipient(row)])),
      new Map(facts.contractors.map((row) => [row.id, toContractorFacts(row, facts.contracts, facts.inspections.find((i) => i.contractor_id === row.id))])),
      members
    )
  }

  recipient(id: string): RecipientFacts | undefined {
    return this.recipients.get(id)
  }

  member(memberId: string): MemberState {
    let state = this.members.get(memberId)
    if (state === undefined) {
      state = { consents: [], suspensions: [] }
      this.members.set(memberId, state)
    }
    return state
  }

  /** The facts the engine needs for `request`, with the consent records an entry snapshots. */
  factsFor(request: DecisionRequest): Facts & { readonly consentRecords: readonly Consent[] } {
    const { consents, suspensions } = request.channel === 'third_party' ? this.member(request.memberId) : { consents: [], suspensions: [] }
    return {
      ...(request.channel === 'third_party'
        ? { recipient: (request.recipientId === undefined ? undefined : this.recipients.get(request.recipientId)) ?? null }
        : {}),
      ...(request.channel === 'entrustment'
        ? { contractor: (request.contractorId === undefined ? undefined : this.contractors.get(request.contractorId)) ?? null }
        : {}),
      consents: consents.map(toConsentFacts),
      consentRecords: consents,
      suspended: suspensions.some((s) => s.liftedAt === null)
    }
  }
}
