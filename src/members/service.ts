import type { FastifyBaseLogger } from 'fastify'
import type { Client } from '../clients/repository.js'
import type { Database } from '../db/database.js'
import { ConflictError, InvalidRequestError, NotFoundError } from '../errors.js'
import { withLedger } from '../ledger/transaction.js'
import type { EntryRef } from '../ledger/writer.js'
import type { PolicyDocument } from '../policy/document.js'
import { findRecipient } from '../recipients/repository.js'
import {
  findConsentForUpdate,
  findSuspensionForUpdate,
  insertConsent,
  insertSuspension,
  markConsentWithdrawn,
  markSuspensionLifted,
  type Consent,
  type NewConsent,
  type Suspension
} from './repository.js'

export interface MemberContext {
  readonly database: Database
  readonly log: FastifyBaseLogger
  readonly client: Client
  readonly policy: PolicyDocument
  /** When the request arrived, for checking what the clerk entered. */
  readonly now: Date
  /** Read again once the member's chain is locked, for what is recorded. */
  readonly clock: () => Date
}

function notInFuture(value: string, field: string, now: Date): void {
  if (new Date(value) > now) throw new InvalidRequestError(`${field}_in_future`, `${field} is in the future`)
}

/** Checks a consent a clerk is about to record against the policy and the registry. */
async function validateConsent(ctx: MemberContext, input: NewConsent): Promise<void> {
  notInFuture(input.obtainedAt, 'obtainedAt', ctx.now)
  const category = ctx.policy.recipientCategories.find((c) => c.id === input.recipientCategory)
  if (category === undefined) throw new InvalidRequestError('recipient_category_unknown', 'the policy has no such recipient category')
  if (input.recipientId !== undefined) {
    const recipient = await findRecipient(ctx.database.db, input.recipientId)
    if (!recipient) throw new InvalidRequestError('recipient_unknown', 'recipientId names no registered recipient')
    if (recipient.category !== input.recipientCategory) {
      throw new InvalidRequestError('recipient_category_mismatch', 'the recipient is not of the given recipientCategory')
    }
  }
  const sensitive = (input.dataItems ?? []).filter((item) => ctx.policy.dataItems.find((d) => d.id === item)?.sensitive)
  if (sensitive.length > 0) {
    throw new InvalidRequestError('sensitive_item', `sensitive items never leave through third-party provision: ${sensitive.join(', ')}`)
  }
  const unnecessary = (input.dataItems ?? []).filter((item) => !category.necessaryItems.includes(item))
  if (unnecessary.length > 0) {
    throw new InvalidRequestError('items_not_necessary', `not necessary items for ${category.id}: ${unnecessary.join(', ')}`)
  }
}

export async function grantConsent(ctx: MemberContext, memberId: string, input: NewConsent): Promise<{ consent: Consent; entry: EntryRef }> {
  await validateConsent(ctx, input)
  return withLedger(ctx.database, ctx.log, [memberId], ctx.clock, async (tx, ledger, now) => {
    const consent = await insertConsent(tx, memberId, input, now)
    const entry = ledger.append(
      {
        kind: 'consent_granted',
        memberId,
        clientId: ctx.client.id,
        recipientId: consent.recipientId ?? undefined,
        body: { consent, policyVersion: ctx.policy.version }
      },
      now
    )
    return { consent, entry }
  })
}

export async function withdrawConsent(
  ctx: MemberContext,
  memberId: string,
  consentId: string,
  input: { withdrawnAt?: string | undefined; reason?: string | undefined }
): Promise<{ consent: Consent; entry: EntryRef }> {
  if (input.withdrawnAt !== undefined) notInFuture(input.withdrawnAt, 'withdrawnAt', ctx.now)
  return withLedger(ctx.database, ctx.log, [memberId], ctx.clock, async (tx, ledger, now) => {
    const withdrawnAt = input.withdrawnAt === undefined ? now : new Date(input.withdrawnAt)
    const existing = await findConsentForUpdate(tx, memberId, consentId)
    if (!existing) throw new NotFoundError('consent')
    if (existing.withdrawnAt !== null) throw new ConflictError('consent_already_withdrawn', 'this consent was already withdrawn')
    if (withdrawnAt < new Date(existing.obtainedAt)) {
      throw new InvalidRequestError('withdrawn_before_obtained', 'withdrawnAt is before the consent was obtained')
    }
    const consent = await markConsentWithdrawn(tx, consentId, withdrawnAt, input.reason ?? null)
    const entry = ledger.append(
      {
        kind: 'consent_withdrawn',
        memberId,
        clientId: ctx.client.id,
        recipientId: consent.recipientId ?? undefined,
        body: { consentId, withdrawnAt: consent.withdrawnAt, withdrawalReason: consent.withdrawalReason }
      },
      now
    )
    return { consent, entry }
  })
}

export async function suspendProvision(
  ctx: MemberContext,
  memberId: string,
  input: { reason: string; requestedAt: string }
): Promise<{ suspension: Suspension; entry: EntryRef }> {
  notInFuture(input.requestedAt, 'requestedAt', ctx.now)
  return withLedger(ctx.database, ctx.log, [memberId], ctx.clock, async (tx, ledger, now) => {
    const suspension = await insertSuspension(tx, memberId, input, now)
    const entry = ledger.append({ kind: 'suspension_created', memberId, clientId: ctx.client.id, body: { suspension } }, now)
    return { suspension, entry }
  })
}

export async function liftSuspension(ctx: MemberContext, memberId: string, suspensionId: string): Promise<{ suspension: Suspension; entry: EntryRef }> {
  return withLedger(ctx.database, ctx.log, [memberId], ctx.clock, async (tx, ledger, now) => {
    const existing = await findSuspensionForUpdate(tx, memberId, suspensionId)
    if (!existing) throw new NotFoundError('suspension')
    if (existing.liftedAt !== null) throw new ConflictError('suspension_already_lifted', 'this suspension was already lifted')
    const suspension = await markSuspensionLifted(tx, suspensionId, now)
    const entry = ledger.append(
      { kind: 'suspension_lifted', memberId, clientId: ctx.client.id, body: { suspensionId, liftedAt: suspension.liftedAt } },
      now
    )
    return { suspension, entry }
  })
}
