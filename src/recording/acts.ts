import type { FastifyBaseLogger } from 'fastify'
import type { Client } from '../clients/repository.js'
import type { Tx } from '../db/database.js'
import { DomainError, IdempotencyConflictError } from '../errors.js'
import type { JobOutcome } from '../ledger/group-commit.js'
import type { EntryRef } from '../ledger/entry-ref.js'
import type { LedgerWriter } from '../ledger/writer.js'
import {
  grantConsent,
  liftSuspension,
  MemberChanges,
  suspendProvision,
  withdrawConsent,
  type MemberActScope,
  type SuspensionInput,
  type WithdrawalInput,
  type WithdrawalOutcome
} from './member-acts.js'
import type { ConsentReceipt } from '../members/schemas.js'
import type { Consent, NewConsent, Suspension } from '../members/repository.js'
import type { PolicyDocument } from '../policy/document.js'
import { decide, denyOutsideClientScope, type Decision, type DecisionRequest } from '../policy/engine.js'
import { REASONS } from '../policy/reasons.js'
import { policyInForce } from '../policy/registry.js'
import { World, needEntity, needFactsFor, noFactsNeeded, type FactsNeeded } from './facts.js'
import { claimId, claimIdempotencyKeys, releaseIdempotencyKeys, storeIdempotentResponses, type IdempotencyClaim, type StoredResponse } from './idempotency.js'
import { presentDecision, type Language, type PresentedDecision } from '../policy/presenter.js'
import { providerOf, withinClientScope, type DecisionAction } from './scope.js'
import type { SeenMembers } from './seen-members.js'

/** Who acts, in which language they are answered, and where their request logs: the same for every act. */
export interface ActContext {
  readonly client: Client
  readonly language: Language
  readonly log: FastifyBaseLogger
}

export type RecordedDecision = PresentedDecision & { readonly entry: EntryRef }

/** Every act the ledger records. A job is one act, or a batch of decisions recorded together. */
export type Act =
  | {
      readonly kind: 'decision'
      readonly ctx: ActContext
      readonly action: DecisionAction
      readonly request: DecisionRequest
    }
  | { readonly kind: 'consent_granted'; readonly ctx: ActContext; readonly memberId: string; readonly input: NewConsent }
  | { readonly kind: 'consent_withdrawn'; readonly ctx: ActContext; readonly memberId: string; readonly consentId: string; readonly input: WithdrawalInput }
  | { readonly kind: 'suspension_created'; readonly ctx: ActContext; readonly memberId: string; readonly input: SuspensionInput }
  | { readonly kind: 'suspension_lifted'; readonly ctx: ActContext; readonly memberId: string; readonly suspensionId: string }

export type ActResult =
  | { readonly kind: 'decision'; readonly statusCode: 201 | 403; readonly body: RecordedDecision }
  | {
      readonly kind: 'consent'
      readonly consent: Consent
      readonly entry: EntryRef
      /** On a grant. */
      readonly receipt?: ConsentReceipt
      /** On a withdrawal. */
      readonly backdated?: boolean
      readonly transfersAfterWithdrawal?: WithdrawalOutcome['transfersAfterWithdrawal']
    }
  | { readonly kind: 'suspension'; readonly suspension: Suspension; readonly entry: EntryRef }

/** The caller's Idempotency-Key, and the hash of what it asked (the operation and its input). */
export interface IdempotencyKey {
  readonly key: string
  readonly hash: string
}

/** What one call asks the ledger to record: one act, or a batch of decisions, all or nothing. */
export interface Job {
  readonly acts: readonly Act[]
  /** With a key, a repeat of the call answers as the first one did and records nothing. */
  readonly idempotency?: IdempotencyKey | undefined
}

export interface JobResult {
  readonly results: ActResult[]
  /** The first answer to this Idempotency-Key again: nothing was recorded now. */
  readonly replayed: boolean
}

export function memberOf(act: Act): string {
  return act.kind === 'decision' ? act.request.memberId : act.memberId
}

function needFactsOf(needed: FactsNeeded, act: Act): void {
  if (act.kind === 'decision') {
    if (withinClientScope(act.ctx.client, act.action, act.request)) needFactsFor(needed, act.request, providerOf(act.ctx.client, act.request))
    return
  }
  needed.memberIds.add(act.memberId)
  if (act.kind === 'consent_granted' || act.kind === 'suspension_created') needEntity(needed, act.input.providerId ?? act.ctx.client.entityId)
  if (act.kind === 'consent_granted' && act.input.contractorId !== undefined) needed.contractorIds.add(act.input.contractorId)
  if (act.kind === 'consent_granted' && act.input.recipientId !== undefined) needed.recipientIds.add(act.input.recipientId)
  if (act.kind === 'consent_withdrawn' && act.input.withdrawnAt !== undefined) {
    needed.backdatedWithdrawals.push({ memberId: act.memberId, consentId: act.consentId, since: new Date(act.input.withdrawnAt) })
  }
}

/** What the ledger keeps of a decision: enough to understand it years later on its own. */
function decisionBody(request: DecisionRequest, decision: Decision, facts: ReturnType<World['factsFor']> | null, action: DecisionAction, client: Client) {
  const consent = facts?.consentRecords.find((c) => c.id === decision.consentId)
  const contractor = facts?.contractor
  const contract = contractor?.contracts.find((c) => c.id === decision.contractId)
  return {
    action,
    clientName: client.name,
    provider: facts?.provider ? { id: facts.provider.id, kind: facts.provider.kind, name: facts.provider.name } : undefined,
    channel: request.channel,
    purpose: request.purpose,
    serviceCategory: request.serviceCategory,
    dataItems: request.dataItems,
    method: request.method,
    jointUser: request.jointUser,
    requestedProviderId: request.providerId,
    // The other end of a joint use, as it stood: both ends are on record.
    jointUserEntity: facts?.jointUser ? { id: facts.jointUser.id, kind: facts.jointUser.kind, name: facts.jointUser.name } : undefined,
    recipientId: request.recipientId,
    contractorId: request.contractorId,
    exception: request.exception,
    decision: decision.decision,
    reasons: decision.reasons.map((r) => ({ ...r, message: REASONS[r.code].message.en })),
    obligations: decision.obligations,
    policyVersion: decision.policyVersion,
    warnings: decision.warnings.length > 0 ? decision.warnings : undefined,
    consentId: decision.consentId,
    providerDetails: decision.providerDetails,
    recipient: facts?.recipient ?? undefined,
    contractor: contractor
      ? {
          id: contractor.id,
          name: contractor.name,
          address: contractor.address,
          country: contractor.country,
          // The ground of an entrustment abroad (Art. 28(1)), as it stood.
          equivalentMeasures: contractor.equivalentMeasures ?? undefined,
          contract: contract
            ? { id: contract.id, reference: contract.reference, signedAt: contract.signedAt, validFrom: contract.validFrom, validUntil: contract.validUntil }
            : null,
          latestInspection: contractor.latestInspection
        }
      : undefined,
    consent: consent
      ? {
          id: consent.id,
          recipientCategory: consent.recipientCategory,
          recipientId: consent.recipientId,
          dataItems: consent.dataItems,
          obtainedAt: consent.obtainedAt,
          method: consent.method,
          evidenceRef: consent.evidenceRef,
          policyVersion: consent.policyVersion
        }
      : undefined
  }
}

/** Decides one request against the world as it stands, outside the client's scope or not. */
export function decideIn(world: World, policy: PolicyDocument, now: Date, client: Client, action: DecisionAction, request: DecisionRequest) {
  // An attempt to act for another provider is the caller's own provider's record.
  if (!withinClientScope(client, action, request)) return { decision: denyOutsideClientScope(policy, client.entityId), facts: null }
  const facts = world.factsFor(request, providerOf(client, request))
  return { decision: decide(request, policy, facts, now), facts }
}

/** A lone transfer: its answer is kept under its key in the form earlier versions stored too. */
function isLoneDecision(job: Job): boolean {
  return job.acts.length === 1 && job.acts[0]!.kind === 'decision'
}

/**
 * How a job's answer is kept under its Idempotency-Key: a lone transfer keeps its status and
 * Decision; any other job keeps its results under 200.
 */
function storedResponseOf(job: Job, results: ActResult[]): StoredResponse {
  const only = results[0]
  if (isLoneDecision(job) && only?.kind === 'decision') return { statusCode: only.statusCode, body: only.body }
  return { statusCode: 200, body: { results } }
}

function resultsOf(job: Job, stored: StoredResponse): ActResult[] {
  if (isLoneDecision(job)) return [{ kind: 'decision', statusCode: stored.statusCode as 201 | 403, body: stored.body as RecordedDecision }]
  return (stored.body as { results: ActResult[] }).results
}

/** Every act of a job is the same caller's. */
const clientOf = (job: Job): Client => job.acts[0]!.ctx.client

/** Applies the acts of one group in order; see GroupHandler. */
export class GroupApplier {
  private readonly changes = new MemberChanges()
  private readonly responses: { clientId: string; key: string; hash: string; response: StoredResponse }[] = []
  /** Keys claimed by an earlier job of this group, with their request hash and answer. */
  private readonly claimedHere = new Map<string, { hash: string; results: ActResult[] }>()
  /** Keys claimed for jobs that were refused: given back, so a corrected retry may use them. */
  private readonly released = new Map<string, { clientId: string; key: string }>()

  private constructor(
    private readonly ledger: LedgerWriter,
    private readonly now: Date,
    private readonly policy: PolicyDocument,
    private readonly world: World,
    private readonly usedKeys: Map<string, StoredResponse & { hash: string }>
  ) {}

  static async apply(tx: Tx, ledger: LedgerWriter, now: Date, jobs: readonly Job[], seenMembers: SeenMembers): Promise<JobOutcome<JobResult>[]> {
    const needed = noFactsNeeded()
    for (const job of jobs) for (const act of job.acts) needFactsOf(needed, act)
    const claims = new Map<string, IdempotencyClaim>()
    for (const job of jobs) {
      if (job.idempotency !== undefined) {
        const clientId = clientOf(job).id
        // Two jobs of a group with one key: one claim; the job that answers stores its own hash.
        const id = claimId(clientId, job.idempotency.key)
        if (!claims.has(id)) claims.set(id, { clientId, ...job.idempotency })
      }
    }
    const [world, usedKeys] = await Promise.all([World.load(tx, needed, true, seenMembers), claimIdempotencyKeys(tx, [...claims.values()], now)])
    const applier = new GroupApplier(ledger, now, policyInForce(now), world, usedKeys)
    // From here a large group's entries go to PostgreSQL as they are made; the statements below wait for them.
    await ledger.startSending()
    const outcomes = jobs.map((job) => applier.applyJob(job))
    await ledger.flush()
    await applier.changes.write(tx)
    await Promise.all([storeIdempotentResponses(tx, applier.responses), releaseIdempotencyKeys(tx, [...applier.released.values()])])
    return outcomes
  }

  private applyJob(job: Job): JobOutcome<JobResult> {
    const clientId = clientOf(job).id
    const claim = job.idempotency && { clientId, ...job.idempotency, id: claimId(clientId, job.idempotency.key) }
    try {
      if (claim) {
        const replay = this.replay(job, claim.id, claim.hash)
        if (replay) return { ok: true, value: { results: replay, replayed: true } }
      }
      const results = job.acts.map((act) => this.applyAct(act, claim?.key))
      if (claim) {
        this.claimedHere.set(claim.id, { hash: claim.hash, results })
        this.released.delete(claim.id)
        this.responses.push({ clientId: claim.clientId, key: claim.key, hash: claim.hash, response: storedResponseOf(job, results) })
      }
      return { ok: true, value: { results, replayed: false } }
    } catch (err) {
      // Only single acts refuse (a batch holds decisions, which always decide); they throw
      // before changing anything, so nothing of theirs is written, and their key is given back.
      if (!(err instanceof DomainError)) throw err
      if (claim && !this.claimedHere.has(claim.id) && !this.usedKeys.has(claim.id)) {
        this.released.set(claim.id, { clientId: claim.clientId, key: claim.key })
      }
      return { ok: false, error: err }
    }
  }

  /** @param idempotencyKey the job's, kept in a decision's entry to tie it to the caller's request */
  private applyAct(act: Act, idempotencyKey: string | undefined): ActResult {
    const scope: MemberActScope = { world: this.world, ledger: this.ledger, changes: this.changes, policy: this.policy, now: this.now, client: act.ctx.client }
    switch (act.kind) {
      case 'decision':
        return this.applyDecision(act, idempotencyKey)
      case 'consent_granted':
        return { kind: 'consent', ...grantConsent(scope, act.memberId, act.input) }
      case 'consent_withdrawn':
        return { kind: 'consent', ...withdrawConsent(scope, act.memberId, act.consentId, act.input) }
      case 'suspension_created':
        return { kind: 'suspension', ...suspendProvision(scope, act.memberId, act.input) }
      case 'suspension_lifted':
        return { kind: 'suspension', ...liftSuspension(scope, act.memberId, act.suspensionId) }
    }
  }

  private applyDecision(act: Extract<Act, { kind: 'decision' }>, idempotencyKey: string | undefined): ActResult {
    const { client, language } = act.ctx
    const { decision, facts } = decideIn(this.world, this.policy, this.now, client, act.action, act.request)
    const entry = this.ledger.append(
      {
        kind: 'decision',
        memberId: act.request.memberId,
        clientId: client.id,
        providerId: decision.providerId,
        channel: act.request.channel,
        decision: decision.decision,
        recipientId: act.request.recipientId,
        contractorId: act.request.contractorId,
        body: { ...decisionBody(act.request, decision, facts, act.action, client), idempotencyKey }
      },
      this.now
    )
    this.world.noteEntry(act.request.memberId)
    if (decision.decision === 'allow' && decision.consentId !== undefined) {
      this.world.noteTransfer(act.request.memberId, decision.consentId, {
        entryId: entry.id,
        recordedAt: entry.recordedAt,
        hash: entry.hash,
        recipientId: act.request.recipientId ?? null,
        purpose: act.request.purpose,
        dataItems: act.request.dataItems
      })
    }
    return { kind: 'decision', statusCode: decision.decision === 'allow' ? 201 : 403, body: { ...presentDecision(decision, language), entry } }
  }

  /**
   * The first answer to a key used before (in an earlier request or earlier in this group).
   * @throws IdempotencyConflictError when the key was used for another request
   */
  private replay(job: Job, keyId: string, hash: string): ActResult[] | undefined {
    const earlier = this.claimedHere.get(keyId)
    if (earlier) {
      if (earlier.hash !== hash) throw new IdempotencyConflictError()
      return earlier.results
    }
    const stored = this.usedKeys.get(keyId)
    if (!stored) return undefined
    if (stored.hash !== hash) throw new IdempotencyConflictError()
    return resultsOf(job, stored)
  }
}

/** What a consent act answers: the consent, its entry, and on a grant its receipt, on a withdrawal what it flags. */
export type ConsentActResult = Extract<ActResult, { kind: 'consent' }>
export type SuspensionActResult = Extract<ActResult, { kind: 'suspension' }>
