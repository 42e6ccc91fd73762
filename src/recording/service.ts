import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../db/database.js'
import { ClientScopeError } from '../errors.js'
import { GroupCommitter, type GroupCommitOptions } from '../ledger/group-commit.js'
import type { SuspensionInput, WithdrawalInput } from './member-acts.js'
import type { NewConsent } from '../members/repository.js'
import type { DecisionRequest } from '../policy/engine.js'
import { policyInForce } from '../policy/registry.js'
import {
  GroupApplier,
  decideIn,
  memberOf,
  type Act,
  type ActContext,
  type ActResult,
  type ConsentActResult,
  type IdempotencyKey,
  type Job,
  type JobResult,
  type RecordedDecision,
  type SuspensionActResult
} from './acts.js'
import { factKey } from '../db/facts-channel.js'
import type { FactsCache, FactsSource } from './facts-cache.js'
import { World, needFactsFor, noFactsNeeded, type FactsNeeded } from './facts.js'
import { requestHash } from './idempotency.js'
import { SeenMembers } from './seen-members.js'
import { presentDecision, type PresentedDecision } from '../policy/presenter.js'
import { providerOf, withinClientScope, type DecisionAction } from './scope.js'

export interface TransferOutcome {
  readonly statusCode: 201 | 403
  readonly body: RecordedDecision
  readonly replayed: boolean
}

/** Told of every decision; the metrics plugin supplies it (shizenha_decisions_total). */
export type DecisionCounter = (channel: string, decision: 'allow' | 'deny', action: DecisionAction) => void

export interface DecisionServiceOptions extends GroupCommitOptions {
  /** Default: decisions are counted nowhere. */
  readonly countDecision?: DecisionCounter | undefined
  /** Where checks keep their facts; without it every check reads the database. */
  readonly checkFacts?: FactsCache | undefined
  /** Told where each check's facts came from (shizenha_check_facts_total). */
  readonly countCheckFacts?: ((source: FactsSource) => void) | undefined
}

/** Whether the answer is the first answer to the caller's Idempotency-Key again. */
export interface Replayable {
  readonly replayed: boolean
}

/**
 * The key of a call with its request hash. The operation is hashed with the input, so a key
 * reused on another route is a conflict rather than a replay of something else.
 */
function keyed(key: string | undefined, operation: string, input: unknown): IdempotencyKey | undefined {
  return key === undefined ? undefined : { key, hash: requestHash({ operation, input }) }
}

function asDecision(result: ActResult): Extract<ActResult, { kind: 'decision' }> {
  if (result.kind !== 'decision') throw new TypeError(`expected a decision, got ${result.kind}`)
  return result
}

/**
 * Every act a caller asks for: checks are decided from the database as it stands and written
 * nowhere; every other act goes through the group committer, which decides it under the chain
 * lock with the time read after that lock, and answers once its entry is committed.
 */
export class DecisionService {
  private readonly committer: GroupCommitter<Job, JobResult>
  private readonly counter: DecisionCounter | undefined
  private readonly checkFacts: FactsCache | undefined
  private readonly countCheckFacts: (source: FactsSource) => void
  /** Members known to have a ledger entry (member_unseen is decided from it and a probe of the rest). */
  private readonly seenMembers = new SeenMembers()

  constructor(
    private readonly database: Database,
    private readonly clock: () => Date,
    log: FastifyBaseLogger,
    options: DecisionServiceOptions
  ) {
    this.committer = new GroupCommitter(database, clock, log, (tx, ledger, now, jobs) => GroupApplier.apply(tx, ledger, now, jobs, this.seenMembers), options)
    this.counter = options.countDecision
    this.checkFacts = options.checkFacts
    this.countCheckFacts = options.countCheckFacts ?? (() => {})
  }

  /** Counted only once committed, so the metric never shows a decision the ledger lacks. */
  private countDecision(request: DecisionRequest, decision: 'allow' | 'deny', action: DecisionAction): void {
    this.counter?.(request.channel, decision, action)
  }

  /** Entries waiting to be grouped, for metrics and back-pressure tests. */
  get queueDepth(): number {
    return this.committer.depth
  }

  /** Resolves when every queued act has been answered (graceful shutdown). */
  drained(): Promise<void> {
    return this.committer.drained()
  }

  private async record(acts: readonly Act[], idempotency?: IdempotencyKey): Promise<JobResult> {
    try {
      const result = await this.committer.submit({ acts, idempotency }, acts.map(memberOf), acts.length)
      // Committed: every member of the job has an entry now (a refused member act wrote none, and is probed again).
      if (!result.replayed) for (const act of acts) if (act.kind === 'decision') this.seenMembers.add(act.request.memberId)
      return result
    } finally {
      // Before the caller hears of it, even when the commit's outcome is unknown: this process's
      // checks must not answer from the member's facts as they were.
      for (const act of acts) {
        if (act.kind !== 'decision') this.checkFacts?.changed(factKey.member(act.memberId))
        else this.checkFacts?.recorded(act.request.memberId)
      }
    }
  }

  private async recordOne(act: Act, idempotency?: IdempotencyKey): Promise<ActResult & Replayable> {
    const { results, replayed } = await this.record([act], idempotency)
    return { ...results[0]!, replayed }
  }

  /** Evaluates without recording; only an attempt outside the client's scope is written down. */
  async check(ctx: ActContext, request: DecisionRequest): Promise<PresentedDecision> {
    if (!withinClientScope(ctx.client, 'check', request)) {
      const { body } = asDecision(await this.recordOne({ kind: 'decision', ctx, action: 'check', request }))
      this.countDecision(request, 'deny', 'check')
      throw new ClientScopeError(body.entry)
    }
    const needed = noFactsNeeded()
    needFactsFor(needed, request, providerOf(ctx.client, request))
    const world = await this.checkWorld(needed)
    const now = this.clock()
    const { decision } = decideIn(world, policyInForce(now), now, ctx.client, 'check', request)
    this.countDecision(request, decision.decision, 'check')
    return presentDecision(decision, ctx.language)
  }

  private async checkWorld(needed: FactsNeeded): Promise<World> {
    const cache = this.checkFacts
    const cached = cache?.lookup(needed)
    if (cached !== undefined) {
      this.countCheckFacts('hit')
      return cached
    }
    const startedAt = cache?.begin()
    const world = await World.load(this.database.db, needed, false, this.seenMembers)
    this.countCheckFacts(cache === undefined || startedAt === undefined ? 'bypass' : cache.remember(needed, world, startedAt))
    return world
  }

  /**
   * Decides and records one hand-off. The facts are read under the member's chain lock, so a
   * consent withdrawn before this commit can never be followed by an allow.
   * @throws ClientScopeError (recorded) outside the client's scope; IdempotencyConflictError;
   *   LedgerUnavailableError or LedgerBusyError when it could not be recorded (nothing allowed).
   */
  async transfer(ctx: ActContext, request: DecisionRequest, idempotencyKey?: string): Promise<TransferOutcome> {
    // Hashed as earlier versions did, so keys stored by them still replay.
    const idempotency = idempotencyKey === undefined ? undefined : { key: idempotencyKey, hash: requestHash(request) }
    const result = await this.recordOne({ kind: 'decision', ctx, action: 'transfer', request }, idempotency)
    const outcome = { ...asDecision(result), replayed: result.replayed }
    if (!outcome.replayed) this.countDecision(request, outcome.body.decision, 'transfer')
    // A repeat of an out-of-scope attempt answers as the first one did, and records nothing new.
    if (outcome.body.reasons.some((r) => r.code === 'client_scope')) {
      throw new ClientScopeError(outcome.body.entry)
    }
    return outcome
  }

  /**
   * Decides and records every item on its own, all in one transaction: either all are recorded
   * or, when the commit fails, none are and the whole batch answers 503. Items outside the
   * client's scope are denied in place (client_scope).
   */
  async batch(ctx: ActContext, requests: readonly DecisionRequest[], idempotencyKey?: string): Promise<{ results: RecordedDecision[] } & Replayable> {
    const { results, replayed } = await this.record(
      requests.map((request) => ({ kind: 'decision', ctx, action: 'transfer', request })),
      keyed(idempotencyKey, 'transferBatch', requests)
    )
    const decisions = results.map((result) => asDecision(result).body)
    if (!replayed) decisions.forEach((body, index) => this.countDecision(requests[index]!, body.decision, 'transfer'))
    return { results: decisions, replayed }
  }

  async grantConsent(ctx: ActContext, memberId: string, input: NewConsent, idempotencyKey?: string): Promise<ConsentActResult & Replayable> {
    const result = await this.recordOne({ kind: 'consent_granted', ctx, memberId, input }, keyed(idempotencyKey, 'grantConsent', { memberId, input }))
    return result as ConsentActResult & Replayable
  }

  async withdrawConsent(
    ctx: ActContext,
    memberId: string,
    consentId: string,
    input: WithdrawalInput,
    idempotencyKey?: string
  ): Promise<ConsentActResult & Replayable> {
    const act: Act = { kind: 'consent_withdrawn', ctx, memberId, consentId, input }
    const result = await this.recordOne(act, keyed(idempotencyKey, 'withdrawConsent', { memberId, consentId, input }))
    return result as ConsentActResult & Replayable
  }

  async suspendProvision(ctx: ActContext, memberId: string, input: SuspensionInput, idempotencyKey?: string): Promise<SuspensionActResult & Replayable> {
    const result = await this.recordOne({ kind: 'suspension_created', ctx, memberId, input }, keyed(idempotencyKey, 'suspendProvision', { memberId, input }))
    return result as SuspensionActResult & Replayable
  }

  async liftSuspension(ctx: ActContext, memberId: string, suspensionId: string, idempotencyKey?: string): Promise<SuspensionActResult & Replayable> {
    const result = await this.recordOne(
      { kind: 'suspension_lifted', ctx, memberId, suspensionId },
      keyed(idempotencyKey, 'liftSuspension', { memberId, suspensionId })
    )
    return result as SuspensionActResult & Replayable
  }
}
