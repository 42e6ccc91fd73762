import type { FastifyBaseLogger } from 'fastify'
import type { Client } from '../clients/repository.js'
import type { Database, Tx } from '../db/database.js'
import { ClientScopeError } from '../errors.js'
import { withLedger } from '../ledger/transaction.js'
import type { EntryRef, LedgerWriter } from '../ledger/writer.js'
import type { PolicyDocument } from '../policy/document.js'
import { decide, denyOutsideClientScope, type Decision, type DecisionRequest } from '../policy/engine.js'
import { REASONS } from '../policy/reasons.js'
import { decisionsTotal } from '../metrics.js'
import { loadFacts, type LoadedFacts } from './facts.js'
import { claimIdempotencyKey, requestHash, storeIdempotentResponse } from './idempotency.js'
import { presentDecision, type Language, type PresentedDecision } from './presenter.js'
import { withinClientScope, type DecisionAction } from './scope.js'

export interface DecisionContext {
  readonly database: Database
  readonly log: FastifyBaseLogger
  readonly client: Client
  readonly policy: PolicyDocument
  /** When the request arrived; recorded decisions take the time after their lock instead. */
  readonly now: Date
  readonly clock: () => Date
  readonly language: Language
}

export type RecordedDecision = PresentedDecision & { readonly entry: EntryRef }

/** What the ledger keeps of a decision: enough to understand it years later on its own. */
function decisionBody(request: DecisionRequest, decision: Decision, facts: LoadedFacts | null, action: DecisionAction, client: Client) {
  const consent = facts?.consentRecords.find((c) => c.id === decision.consentId)
  const contractor = facts?.contractor
  const contract = contractor?.contracts.find((c) => c.id === decision.contractId)
  return {
    action,
    clientName: client.name,
    channel: request.channel,
    purpose: request.purpose,
    serviceCategory: request.serviceCategory,
    dataItems: request.dataItems,
    method: request.method,
    jointUser: request.jointUser,
    recipientId: request.recipientId,
    contractorId: request.contractorId,
    exception: request.exception,
    decision: decision.decision,
    reasons: decision.reasons.map((r) => ({ ...r, message: REASONS[r.code].message.en })),
    obligations: decision.obligations,
    policyVersion: decision.policyVersion,
    consentId: decision.consentId,
    recipient: facts?.recipient ?? undefined,
    contractor: contractor
      ? {
          id: contractor.id,
          name: contractor.name,
          address: contractor.address,
          contract: contract ? { id: contract.id, reference: contract.reference, validFrom: contract.validFrom, validUntil: contract.validUntil } : null,
          latestInspection: contractor.latestInspection
        }
      : undefined,
    consent: consent
      ? { id: consent.id, recipientCategory: consent.recipientCategory, recipientId: consent.recipientId, dataItems: consent.dataItems, obtainedAt: consent.obtainedAt, method: consent.method, evidenceRef: consent.evidenceRef }
      : undefined
  }
}

function appendDecision(
  ledger: LedgerWriter,
  ctx: DecisionContext,
  request: DecisionRequest,
  decision: Decision,
  facts: LoadedFacts | null,
  action: DecisionAction,
  idempotencyKey?: string
): EntryRef {
  return ledger.append(
    {
      kind: 'decision',
      memberId: request.memberId,
      clientId: ctx.client.id,
      channel: request.channel,
      decision: decision.decision,
      recipientId: request.recipientId,
      contractorId: request.contractorId,
      body: { ...decisionBody(request, decision, facts, action, ctx.client), idempotencyKey }
    },
    ctx.now
  )
}

/** Decides one request inside a transaction that holds the member's chain lock. */
async function decideLocked(tx: Tx, ledger: LedgerWriter, ctx: DecisionContext, request: DecisionRequest, action: DecisionAction, idempotencyKey?: string): Promise<RecordedDecision> {
  const facts = await loadFacts(tx, request, true)
  const decision = decide(request, ctx.policy, facts, ctx.now)
  const entry = appendDecision(ledger, ctx, request, decision, facts, action, idempotencyKey)
  return { ...presentDecision(decision, ctx.language), entry }
}

/** Counted only once committed, so the metric never shows a decision the ledger lacks. */
function countDecision(request: DecisionRequest, decision: 'allow' | 'deny', action: DecisionAction): void {
  decisionsTotal.inc({ channel: request.channel, decision, action })
}

async function recordScopeViolation(ctx: DecisionContext, request: DecisionRequest, action: DecisionAction): Promise<never> {
  const entry = await withLedger(ctx.database, ctx.log, [request.memberId], ctx.clock, async (_tx, ledger, now) =>
    appendDecision(ledger, { ...ctx, now }, request, denyOutsideClientScope(ctx.policy), null, action)
  )
  countDecision(request, 'deny', action)
  throw new ClientScopeError(entry as unknown as Record<string, unknown>)
}

/** Evaluates without recording; only an attempt outside the client's scope is written down. */
export async function checkDecision(ctx: DecisionContext, request: DecisionRequest): Promise<PresentedDecision> {
  if (!withinClientScope(ctx.client, 'check', request)) return recordScopeViolation(ctx, request, 'check')
  const facts = await loadFacts(ctx.database.db, request)
  const decision = decide(request, ctx.policy, facts, ctx.now)
  countDecision(request, decision.decision, 'check')
  return presentDecision(decision, ctx.language)
}

export interface TransferOutcome {
  readonly statusCode: number
  readonly body: RecordedDecision
  readonly replayed: boolean
}

/**
 * Decides and records in one transaction: the facts are read under the member's chain lock,
 * so a consent withdrawn before this commit can never be followed by an allow.
 */
export async function recordTransfer(ctx: DecisionContext, request: DecisionRequest, idempotencyKey?: string): Promise<TransferOutcome> {
  if (!withinClientScope(ctx.client, 'transfer', request)) return recordScopeViolation(ctx, request, 'transfer')
  const outcome = await withLedger(ctx.database, ctx.log, [request.memberId], ctx.clock, async (tx, ledger, now): Promise<TransferOutcome> => {
    if (idempotencyKey !== undefined) {
      const earlier = await claimIdempotencyKey(tx, ctx.client.id, idempotencyKey, requestHash(request), now)
      if (earlier) return { statusCode: earlier.statusCode, body: earlier.body as RecordedDecision, replayed: true }
    }
    const body = await decideLocked(tx, ledger, { ...ctx, now }, request, 'transfer', idempotencyKey)
    const statusCode = body.decision === 'allow' ? 201 : 403
    if (idempotencyKey !== undefined) await storeIdempotentResponse(tx, ctx.client.id, idempotencyKey, { statusCode, body })
    return { statusCode, body, replayed: false }
  })
  if (!outcome.replayed) countDecision(request, outcome.body.decision, 'transfer')
  return outcome
}

/**
 * Decides and records every item on its own, in one transaction: either all are recorded or,
 * when the commit fails, none are and the whole batch answers 503.
 */
export async function recordBatch(ctx: DecisionContext, requests: DecisionRequest[]): Promise<RecordedDecision[]> {
  const results = await withLedger(
    ctx.database,
    ctx.log,
    requests.map((r) => r.memberId),
    ctx.clock,
    async (tx, ledger, now) => {
      const locked = { ...ctx, now }
      const results: RecordedDecision[] = []
      for (const request of requests) {
        if (withinClientScope(ctx.client, 'transfer', request)) {
          results.push(await decideLocked(tx, ledger, locked, request, 'transfer'))
        } else {
          const decision = denyOutsideClientScope(ctx.policy)
          const entry = appendDecision(ledger, locked, request, decision, null, 'transfer')
          results.push({ ...presentDecision(decision, locked.language), entry })
        }
      }
      return results
    }
  )
  results.forEach((result, index) => countDecision(requests[index]!, result.decision, 'transfer'))
  return results
}
