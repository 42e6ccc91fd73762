import { toContractorFacts } from '../contractors/repository.js'
import type { Queryable } from '../db/database.js'
import { toEntity } from '../entities/repository.js'
import { toConsent, toConsentFacts, toSuspension, type Consent, type Suspension } from '../members/repository.js'
import type { TransferOnConsent } from '../members/schemas.js'
import type { ContractorFacts, DecisionRequest, Facts, RecipientFacts } from '../policy/engine.js'
import { namedEntity, type EntityFacts } from '../policy/parties.js'
import type { DataItem, Purpose } from '../policy/vocabulary.js'
import { toRecipient, toRecipientFacts } from '../recipients/repository.js'
import { loadFactRows, type TransferRow } from './facts-repository.js'
import type { SeenMembers } from './seen-members.js'

/** What a group of acts needs to know: recipients, contractors, and the members it touches. */
export interface FactsNeeded {
  /** Registered legal persons named as provider or joint user (the policy's own need no read). */
  readonly entityIds: Set<string>
  readonly recipientIds: Set<string>
  readonly contractorIds: Set<string>
  /** Members whose consents and suspensions the acts read or change. */
  readonly memberIds: Set<string>
  /** Withdrawals dated before they are recorded: the transfers since then are read with the facts. */
  readonly backdatedWithdrawals: { readonly memberId: string; readonly consentId: string; readonly since: Date }[]
}

export function noFactsNeeded(): FactsNeeded {
  return { entityIds: new Set(), recipientIds: new Set(), contractorIds: new Set(), memberIds: new Set(), backdatedWithdrawals: [] }
}

/** Notes a legal person to read, unless the policy names it (then it is known without a read). */
export function needEntity(needed: FactsNeeded, id: string | undefined): void {
  if (id !== undefined && namedEntity(id) === undefined) needed.entityIds.add(id.toLowerCase())
}

/**
 * Adds what deciding `request` for `providerId` reads: the provider, and on every channel the
 * member (a stop of use, Art. 35, halts all but a statutory exception, and any decision warns
 * of a member never seen).
 */
export function needFactsFor(needed: FactsNeeded, request: DecisionRequest, providerId: string): void {
  needed.memberIds.add(request.memberId)
  needEntity(needed, providerId)
  if (request.channel === 'joint_use') needEntity(needed, request.jointUser)
  if (request.channel === 'third_party' && request.recipientId !== undefined) {
    needed.recipientIds.add(request.recipientId)
  } else if (request.channel === 'entrustment' && request.contractorId !== undefined) {
    needed.contractorIds.add(request.contractorId)
  }
}

/** A member's consents and suspensions as they stand, changed in place as a group's acts apply. */
export interface MemberState {
  consents: Consent[]
  suspensions: Suspension[]
  /** Whether anything was ever recorded for the member (an entry, so also a consent or suspension). */
  seen: boolean
  /** Transfers allowed on a consent being withdrawn with effect from the past, read and made by this group. */
  transfers: (TransferOnConsent & { readonly consentId: string })[]
}

const toTransfer = (row: TransferRow): TransferOnConsent & { consentId: string } => ({
  entryId: row.id,
  consentId: row.consent_id,
  recordedAt: row.recorded_at.toISOString(),
  hash: row.hash,
  recipientId: row.recipient_id,
  purpose: row.purpose as Purpose,
  dataItems: row.data_items as DataItem[]
})

/** A member's consents and suspensions as read, shared by every check the cache answers. */
export interface MemberFacts {
  readonly consents: readonly Consent[]
  readonly suspensions: readonly Suspension[]
  readonly seen: boolean
}

/**
 * The world as a group of acts sees it: read once with one query per table for the whole group,
 * then kept up to date in memory as each act applies, so an act sees every act before it.
 */
export class World {
  private constructor(
    private readonly entities: Map<string, EntityFacts>,
    private readonly recipients: Map<string, RecipientFacts>,
    private readonly contractors: Map<string, ContractorFacts>,
    private readonly members: Map<string, MemberState>
  ) {}

  /** @param lock share-lock the recipient and contractor rows (inside a recording transaction). */
  /** @param seenMembers members known to have an entry; the others are probed and added when they have one. */
  static async load(db: Queryable, needed: FactsNeeded, lock: boolean, seenMembers: SeenMembers): Promise<World> {
    const memberIds = [...needed.memberIds]
    const backdated = needed.backdatedWithdrawals
    const since = backdated.reduce<Date | null>((earliest, w) => (earliest === null || w.since < earliest ? w.since : earliest), null)
    const ids = {
      entityIds: [...needed.entityIds],
      recipientIds: [...needed.recipientIds],
      contractorIds: [...needed.contractorIds],
      memberIds,
      probeSeen: seenMembers.unknown(memberIds)
    }
    const facts = await loadFactRows(db, ids, lock, {
      memberIds: [...new Set(backdated.map((w) => w.memberId))],
      consentIds: backdated.map((w) => w.consentId),
      since
    })
    for (const id of facts.seen) seenMembers.add(id)
    const members = new Map<string, MemberState>(memberIds.map((id) => [id, { consents: [], suspensions: [], transfers: [], seen: seenMembers.has(id) }]))
    for (const row of facts.consents) members.get(row.member_id)?.consents.push(toConsent(row))
    for (const row of facts.suspensions) members.get(row.member_id)?.suspensions.push(toSuspension(row))
    for (const row of facts.transfers) members.get(row.member_id)?.transfers.push(toTransfer(row))
    return new World(
      new Map(facts.entities.map((row) => [row.id, toEntity(row)])),
      new Map(facts.recipients.map((row) => [row.id, toRecipientFacts(toRecipient(row))])),
      new Map(
        facts.contractors.map((row) => [
          row.id,
          toContractorFacts(
            row,
            facts.contracts,
            facts.inspections.find((i) => i.contractor_id === row.id)
          )
        ])
      ),
      members
    )
  }

  /** A world of facts already read (the check cache's); each member's lists are copied, so acts on it change no one else's. */
  static of(
    entities: Map<string, EntityFacts>,
    recipients: Map<string, RecipientFacts>,
    contractors: Map<string, ContractorFacts>,
    members: ReadonlyMap<string, MemberFacts>
  ): World {
    const states = new Map<string, MemberState>()
    for (const [id, { consents, suspensions, seen }] of members) states.set(id, { consents: [...consents], suspensions: [...suspensions], transfers: [], seen })
    return new World(entities, recipients, contractors, states)
  }

  /** The legal person with this id: one the policy names, or a registered member co-op read with the facts. */
  entity(id: string): EntityFacts | undefined {
    return namedEntity(id) ?? this.entities.get(id.toLowerCase())
  }

  recipient(id: string): RecipientFacts | undefined {
    return this.recipients.get(id)
  }

  contractor(id: string): ContractorFacts | undefined {
    return this.contractors.get(id)
  }

  member(memberId: string): MemberState {
    let state = this.members.get(memberId)
    if (state === undefined) {
      state = { consents: [], suspensions: [], transfers: [], seen: false }
      this.members.set(memberId, state)
    }
    return state
  }

  /** Notes a transfer this group allowed on a consent, so a later withdrawal in the group sees it. */
  noteTransfer(memberId: string, consentId: string, transfer: TransferOnConsent): void {
    this.member(memberId).transfers.push({ ...transfer, consentId })
  }

  /** The transfers allowed on `consentId` recorded at or after `since`, oldest first. */
  transfersOn(memberId: string, consentId: string, since: Date): TransferOnConsent[] {
    return this.member(memberId)
      .transfers.filter((t) => t.consentId === consentId && new Date(t.recordedAt) >= since)
      .map(({ consentId: _consent, ...transfer }) => transfer)
  }

  /** Notes that an entry was made for the member, so later acts of the group no longer warn of it. */
  noteEntry(memberId: string): void {
    this.member(memberId).seen = true
  }

  /** The facts the engine needs for `request` by `providerId`, with the consent records an entry snapshots. */
  factsFor(request: DecisionRequest, providerId: string): Facts & { readonly consentRecords: readonly Consent[] } {
    const member = this.member(request.memberId)
    const { consents, suspensions } = request.channel === 'statutory_exception' ? { consents: [], suspensions: [] } : member
    // Consents decide a third-party provision, and an entrustment abroad (Art. 28).
    const consulted = request.channel === 'third_party' || request.channel === 'entrustment' ? consents : []
    return {
      provider: this.entity(providerId) ?? null,
      memberSeen: member.seen,
      ...(request.channel === 'joint_use' ? { jointUser: (request.jointUser === undefined ? undefined : this.entity(request.jointUser)) ?? null } : {}),
      ...(request.channel === 'third_party'
        ? { recipient: (request.recipientId === undefined ? undefined : this.recipients.get(request.recipientId)) ?? null }
        : {}),
      ...(request.channel === 'entrustment'
        ? { contractor: (request.contractorId === undefined ? undefined : this.contractors.get(request.contractorId)) ?? null }
        : {}),
      consents: consulted.map(toConsentFacts),
      consentRecords: consulted,
      suspensions: [...new Set(suspensions.filter((s) => s.liftedAt === null).map((s) => s.scope))]
    }
  }
}
