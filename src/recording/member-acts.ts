import type { Client } from '../clients/repository.js'
import type { TransferOnConsent } from '../members/schemas.js'
import type { MemberState, World } from './facts.js'
import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError } from '../errors.js'
import { providerKinds, type EntityFacts } from '../policy/parties.js'
import type { EntryRef } from '../ledger/entry-ref.js'
import type { LedgerWriter } from '../ledger/writer.js'
import type { PolicyDocument } from '../policy/document.js'
import { policyInForce } from '../policy/registry.js'
import type { SuspensionScope } from '../policy/vocabulary.js'
import { buildConsentReceipt, providerSnapshot, recipientSnapshot } from '../members/receipt.js'
import type { ConsentReceipt } from '../members/schemas.js'
import { newConsent, newSuspension, saveConsents, saveSuspensions, type Consent, type NewConsent, type Suspension } from '../members/repository.js'
import type { Queryable } from '../db/database.js'

/**
 * The member acts (consents and suspensions) as a group applies them: each checks what the
 * clerk entered against the world as the acts before it left it, then changes that world in
 * memory, stages the rows to write and appends its ledger entry. A check that fails throws
 * before anything changes, so a refused act leaves nothing behind.
 */

export interface WithdrawalInput {
  readonly withdrawnAt?: string | undefined
  readonly reason?: string | undefined
}

export interface SuspensionInput {
  /** Absent: the recording client's own provider. */
  readonly providerId?: string | undefined
  readonly reason: string
  readonly requestedAt: string
  /** provision (default): third-party provision stops; use: every channel but statutory exceptions. */
  readonly scope?: SuspensionScope | undefined
}

/** A withdrawal as recorded: when it was dated before its recording, the transfers made in between. */
export interface WithdrawalOutcome {
  readonly consent: Consent
  readonly entry: EntryRef
  /** True when withdrawnAt is earlier than the moment the withdrawal was recorded. */
  readonly backdated: boolean
  /** Transfers allowed on this consent from withdrawnAt until the withdrawal was recorded, oldest first. */
  readonly transfersAfterWithdrawal: TransferOnConsent[]
}

/** Consent and suspension rows changed by a group, written once when its acts have applied. */
export class MemberChanges {
  private readonly consents = new Map<string, { consent: Consent; created: boolean }>()
  private readonly suspensions = new Map<string, { suspension: Suspension; created: boolean }>()

  consent(consent: Consent, created: boolean): void {
    this.consents.set(consent.id, { consent, created: created || this.consents.get(consent.id)?.created === true })
  }

  suspension(suspension: Suspension, created: boolean): void {
    this.suspensions.set(suspension.id, { suspension, created: created || this.suspensions.get(suspension.id)?.created === true })
  }

  async write(db: Queryable): Promise<void> {
    const consents = [...this.consents.values()]
    const suspensions = [...this.suspensions.values()]
    await saveConsents(
      db,
      consents.filter((c) => c.created).map((c) => c.consent),
      consents.filter((c) => !c.created).map((c) => c.consent)
    )
    await saveSuspensions(
      db,
      suspensions.filter((s) => s.created).map((s) => s.suspension),
      suspensions.filter((s) => !s.created).map((s) => s.suspension)
    )
  }
}

export interface MemberActScope {
  readonly world: World
  readonly ledger: LedgerWriter
  readonly changes: MemberChanges
  readonly policy: PolicyDocument
  readonly now: Date
  readonly client: Client
}

function notInFuture(value: string, field: string, now: Date): void {
  if (new Date(value) > now) throw new InvalidRequestError(`${field}_in_future`, `${field} is in the future`)
}

/**
 * The provider a member act is recorded for: the one named (an admin may name any), else the
 * client's own. A withdrawal or a lift belongs to the provider of what it ends.
 * @throws ForbiddenError when a non-admin names another provider; InvalidRequestError when the
 *   provider is not the federation or an active member co-op.
 */
function providerFor(scope: MemberActScope, requested: string | undefined): EntityFacts {
  const { client } = scope
  if (requested !== undefined && client.role !== 'admin' && requested.toLowerCase() !== client.entityId.toLowerCase()) {
    throw new ForbiddenError('this client may record only for its own provider; an admin may name another')
  }
  const provider = scope.world.entity(requested ?? client.entityId)
  const kinds = providerKinds(scope.policy)
  if (provider === undefined || !provider.active || (kinds.length > 0 && !kinds.includes(provider.kind))) {
    throw new InvalidRequestError('provider_unknown', 'providerId must name the federation or an active member co-op (GET /v1/entities)')
  }
  return provider
}

/** A consent to a contractor abroad (Art. 28): it names the contractor and what the member was told, and no recipient. */
function validateContractorConsent(scope: MemberActScope, input: NewConsent): void {
  if (input.recipientCategory !== undefined || input.recipientId !== undefined) {
    throw new InvalidRequestError('consent_recipient_and_contractor', 'a consent names a recipient category or a contractor abroad, not both')
  }
  const contractor = scope.world.contractor(input.contractorId!)
  if (!contractor) throw new InvalidRequestError('contractor_unknown', 'contractorId names no registered contractor')
  if (input.foreignRecipient?.country !== contractor.country) {
    throw new InvalidRequestError(
      'foreign_recipient_required',
      "a consent to a contractor abroad must carry foreignRecipient (PPC rule 17(2)) for the contractor's country"
    )
  }
}

/** Checks a consent a clerk is about to record against the policy it is given under and the registry. */
function validateConsent(scope: MemberActScope, policy: PolicyDocument, input: NewConsent): void {
  notInFuture(input.obtainedAt, 'obtainedAt', scope.now)
  if (input.contractorId !== undefined) return validateContractorConsent(scope, input)
  if (input.recipientCategory === undefined)
    throw new InvalidRequestError('recipient_category_required', 'a consent names a recipientCategory, or a contractorId abroad')
  const category = policy.recipientCategories.find((c) => c.id === input.recipientCategory)
  if (category === undefined) throw new InvalidRequestError('recipient_category_unknown', 'the policy has no such recipient category')
  if (input.recipientId !== undefined) {
    const recipient = scope.world.recipient(input.recipientId)
    if (!recipient) throw new InvalidRequestError('recipient_unknown', 'recipientId names no registered recipient')
    if (recipient.category !== input.recipientCategory) {
      throw new InvalidRequestError('recipient_category_mismatch', 'the recipient is not of the given recipientCategory')
    }
  }
  const sensitive = (input.dataItems ?? []).filter((item) => policy.dataItems.find((d) => d.id === item)?.sensitive)
  if (sensitive.length > 0) {
    throw new InvalidRequestError('sensitive_item', `sensitive items never leave through third-party provision: ${sensitive.join(', ')}`)
  }
  const unnecessary = (input.dataItems ?? []).filter((item) => !category.necessaryItems.includes(item))
  if (unnecessary.length > 0) {
    throw new InvalidRequestError('items_not_necessary', `not necessary items for ${category.id}: ${unnecessary.join(', ')}`)
  }
}

function replace<T extends { id: string }>(list: T[], item: T): void {
  list[list.findIndex((x) => x.id === item.id)] = item
}

/**
 * Records a consent under the version in force when the member gave it (obtainedAt), not when a
 * clerk keys it in: the member agreed to the notice they were shown, and a consent without an
 * item list covers that version's necessary items for as long as it stands.
 */
export function grantConsent(scope: MemberActScope, memberId: string, input: NewConsent): { consent: Consent; entry: EntryRef; receipt: ConsentReceipt } {
  const policy = policyInForce(new Date(input.obtainedAt))
  const provider = providerSnapshot(providerFor(scope, input.providerId))
  validateConsent(scope, policy, input)
  const consent = newConsent(memberId, provider.id, input, policy.version, scope.now)
  scope.world.member(memberId).consents.push(consent)
  scope.changes.consent(consent, true)
  const recipient = consent.recipientId === null ? undefined : recipientSnapshot(scope.world.recipient(consent.recipientId))
  const entry = scope.ledger.append(
    {
      kind: 'consent_granted',
      memberId,
      clientId: scope.client.id,
      providerId: provider.id,
      recipientId: consent.recipientId ?? undefined,
      contractorId: consent.contractorId ?? undefined,
      body: { consent, policyVersion: policy.version, recipient, provider }
    },
    scope.now
  )
  return { consent, entry, receipt: buildConsentReceipt(consent, entry, recipient ?? null, policy, provider) }
}

export function withdrawConsent(scope: MemberActScope, memberId: string, consentId: string, input: WithdrawalInput): WithdrawalOutcome {
  if (input.withdrawnAt !== undefined) notInFuture(input.withdrawnAt, 'withdrawnAt', scope.now)
  const state: MemberState = scope.world.member(memberId)
  const existing = state.consents.find((c) => c.id === consentId)
  if (!existing) throw new NotFoundError('consent')
  if (existing.withdrawnAt !== null) throw new ConflictError('consent_already_withdrawn', 'this consent was already withdrawn')
  const withdrawnAt = input.withdrawnAt === undefined ? scope.now : new Date(input.withdrawnAt)
  if (withdrawnAt < new Date(existing.obtainedAt)) {
    throw new InvalidRequestError('withdrawn_before_obtained', 'withdrawnAt is before the consent was obtained')
  }
  const consent: Consent = { ...existing, withdrawnAt: withdrawnAt.toISOString(), withdrawalReason: input.reason ?? null }
  // A withdrawal the member made before it reached the service leaves transfers made in between
  // without consent; list them, so the co-op can ask the recipients to stop and delete.
  const backdated = withdrawnAt < scope.now
  const transfersAfterWithdrawal = backdated ? scope.world.transfersOn(memberId, consentId, withdrawnAt) : []
  replace(state.consents, consent)
  scope.changes.consent(consent, false)
  const entry = scope.ledger.append(
    {
      kind: 'consent_withdrawn',
      memberId,
      clientId: scope.client.id,
      providerId: consent.providerId,
      recipientId: consent.recipientId ?? undefined,
      body: { consentId, withdrawnAt: consent.withdrawnAt, withdrawalReason: consent.withdrawalReason, backdated, transfersAfterWithdrawal }
    },
    scope.now
  )
  return { consent, entry, backdated, transfersAfterWithdrawal }
}

export function suspendProvision(scope: MemberActScope, memberId: string, input: SuspensionInput): { suspension: Suspension; entry: EntryRef } {
  notInFuture(input.requestedAt, 'requestedAt', scope.now)
  const providerId = providerFor(scope, input.providerId).id
  const suspension = newSuspension(memberId, providerId, input, scope.now)
  scope.world.member(memberId).suspensions.push(suspension)
  scope.changes.suspension(suspension, true)
  const entry = scope.ledger.append({ kind: 'suspension_created', memberId, clientId: scope.client.id, providerId, body: { suspension } }, scope.now)
  return { suspension, entry }
}

export function liftSuspension(scope: MemberActScope, memberId: string, suspensionId: string): { suspension: Suspension; entry: EntryRef } {
  const state = scope.world.member(memberId)
  const existing = state.suspensions.find((s) => s.id === suspensionId)
  if (!existing) throw new NotFoundError('suspension')
  if (existing.liftedAt !== null) throw new ConflictError('suspension_already_lifted', 'this suspension was already lifted')
  const suspension: Suspension = { ...existing, liftedAt: scope.now.toISOString() }
  replace(state.suspensions, suspension)
  scope.changes.suspension(suspension, false)
  const entry = scope.ledger.append(
    {
      kind: 'suspension_lifted',
      memberId,
      clientId: scope.client.id,
      providerId: suspension.providerId,
      body: { suspensionId, liftedAt: suspension.liftedAt }
    },
    scope.now
  )
  return { suspension, entry }
}
