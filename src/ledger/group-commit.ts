import type { FastifyBaseLogger } from 'fastify'
import type { Database, Tx } from '../db/database.js'
import { classifyDatabaseError } from '../db/errors.js'
import { DomainError, LedgerUnavailableError, ValueOutOfRangeError } from '../errors.js'
import { LedgerWriter } from './writer.js'

/** The queue is full: the caller is told to come back rather than wait without bound. */
export class LedgerBusyError extends DomainError {
  constructor() {
    super('ledger_busy', 503, 'Service Unavailable', 'too many acts are waiting to be recorded; nothing was allowed; retry shortly')
  }
}

/**
 * Maps a failure of a recorded act to what the caller is told. Once the ledger entries are being
 * written (or committed), any failure means the act is not on record: 503, nothing allowed. Before
 * that, an unreachable database is a 503 too, a refused value a 400, and anything else is ours (500).
 */
function ledgerFailure(err: unknown, writing: boolean, log: FastifyBaseLogger): Error {
  if (err instanceof DomainError) return err
  const failure = classifyDatabaseError(err)
  if (failure === 'bad_input') return new ValueOutOfRangeError()
  if (writing || failure === 'unavailable') {
    log.error({ err }, 'ledger transaction failed')
    return new LedgerUnavailableError()
  }
  return err instanceof Error ? err : new Error(String(err))
}

/** What one job in a group came to: its value, or an error of its own (the others go on). */
export type JobOutcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: Error }

/**
 * Decides the jobs of one group inside its transaction. The heads of every chain the group
 * touches are locked and `now` was read after the lock; whatever the handler appends to `ledger`
 * and writes through `tx` commits together, or not at all. A job that fails on its own must
 * leave nothing behind (stage its writes in memory until it is known to succeed). A handler that
 * calls `ledger.startSending()` must `flush` it before it writes anything else through `tx`.
 */
export type GroupHandler<J, R> = (tx: Tx, ledger: LedgerWriter, now: Date, jobs: readonly J[]) => Promise<JobOutcome<R>[]>

/** Why a job's entries did not reach the ledger, as the metrics count it. */
export type AppendFailureReason = 'queue_full' | 'database_unavailable' | 'commit_failed'

/**
 * What the committer reports as it works, for metrics. Called synchronously on the commit path:
 * an observer must be cheap and must not throw.
 */
export interface GroupCommitObserver {
  /**
   * A group committed: the entries it held, how long its transaction took, and how much of that
   * went by before it held the heads of its chains (the wait behind the group before it), in seconds.
   */
  groupCommitted(entries: number, seconds: number, headsWaitSeconds: number): void
  /**
   * `jobs` callers were answered with a failure of the ledger (a 503): the queue was full, the
   * database could not be reached, or the commit failed otherwise. Refusals of the caller's own
   * input (4xx) are not counted.
   */
  appendFailed(jobs: number, reason: AppendFailureReason): void
}

export interface GroupCommitOptions {
  /** Entries one group may hold; a single job larger than this still goes alone. */
  readonly maxGroupEntries: number
  /** Entries that may wait; past that, new jobs are refused with LedgerBusyError. */
  readonly maxQueuedEntries: number
  /** Told of every commit and every failure; default nobody. */
  readonly observe?: GroupCommitObserver | undefined
  /**
   * Whether the next group may begin while one commits: on PostgreSQL, where it then waits in
   * the database for the heads the committing group holds and gets them the moment that commit
   * ends, instead of a round trip later. Not for the embedded database, which runs one
   * transaction at a time. Default: one group at a time.
   */
  readonly overlapCommits?: boolean | undefined
}

/** The reason a failed group counts under, or undefined when the failure was the caller's (4xx). */
function failureReason(err: unknown, failure: Error): AppendFailureReason | undefined {
  if (failure instanceof DomainError && failure.status < 500) return undefined
  return classifyDatabaseError(err) === 'unavailable' ? 'database_unavailable' : 'commit_failed'
}

interface Pending<J, R> {
  readonly job: J
  readonly size: number
  readonly memberIds: readonly string[]
  readonly resolve: (value: R) => void
  readonly reject: (error: Error) => void
}

/**
 * Gathers concurrent acts and records them in one transaction per group, as a log sequencer
 * does: while one group is decided and written, the next one queues; once its entries are
 * written, everything queued goes in the next group. A lone act starts at once (no timer): like
 * PostgreSQL's commit_delay, a group only ever waits for work that is already there. Every
 * caller is answered exactly once, after the commit; when the commit fails, every caller in the
 * group gets the failure.
 *
 * With `overlapCommits`, the next group begins as soon as the one before has written its entries,
 * while that one's COMMIT is still on its way: at most two transactions are open, and the later
 * one asks for the chain heads the earlier holds, so the database orders them exactly as they
 * were queued. Nothing of the earlier group can be retried after the later one began: a group
 * that fails before its entries are written is retried (one act at a time) before any later group
 * begins, and a failure at COMMIT fails the whole group.
 */
export class GroupCommitter<J, R> {
  private readonly queue: Pending<J, R>[] = []
  private queuedEntries = 0
  /** Groups whose transactions are open. */
  private open = 0
  /** A group has begun and not yet written its entries: the next one waits for that. */
  private writing = false
  private readonly maxOpen: number
  /** Made when someone waits for the committer to be idle; resolved and dropped once it is. */
  private idle: { readonly reached: Promise<void>; readonly mark: () => void } | undefined

  constructor(
    private readonly database: Database,
    private readonly clock: () => Date,
    private readonly log: FastifyBaseLogger,
    private readonly handler: GroupHandler<J, R>,
    private readonly options: GroupCommitOptions
  ) {
    this.maxOpen = options.overlapCommits === true ? 2 : 1
  }

  /** Entries waiting for a group, for metrics. */
  get depth(): number {
    return this.queuedEntries
  }

  /**
   * Queues a job touching the chains of `memberIds`, `size` entries large.
   * @throws LedgerBusyError at once when the queue is full.
   */
  submit(job: J, memberIds: readonly string[], size: number): Promise<R> {
    if (this.queuedEntries > 0 && this.queuedEntries + size > this.options.maxQueuedEntries) {
      this.options.observe?.appendFailed(1, 'queue_full')
      return Promise.reject(new LedgerBusyError())
    }
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ job, size, memberIds, resolve, reject })
      this.queuedEntries += size
      this.startGroups()
    })
  }

  /** Resolves once nothing is queued or committing: for a graceful close. */
  drained(): Promise<void> {
    if (this.open === 0 && this.queue.length === 0) return Promise.resolve()
    if (this.idle === undefined) {
      let mark!: () => void
      const reached = new Promise<void>((resolve) => (mark = resolve))
      this.idle = { reached, mark }
    }
    return this.idle.reached
  }

  private startGroups(): void {
    while (this.queue.length > 0 && !this.writing && this.open < this.maxOpen) {
      this.open += 1
      this.writing = true
      void this.runGroup(this.takeGroup())
    }
  }

  private async runGroup(group: Pending<J, R>[]): Promise<void> {
    let written = false
    const letNextBegin = () => {
      if (written) return
      written = true
      this.writing = false
      this.startGroups()
    }
    try {
      // With one group at a time, opening the gate early starts nothing: `open` still holds it.
      await this.commitGroup(group, letNextBegin)
    } finally {
      this.open -= 1
      // A group that failed before writing still holds the gate; either way its end frees a place.
      if (!written) this.writing = false
      this.startGroups()
      if (this.open === 0 && this.queue.length === 0) {
        this.idle?.mark()
        this.idle = undefined
      }
    }
  }

  private takeGroup(): Pending<J, R>[] {
    const group: Pending<J, R>[] = []
    let entries = 0
    while (this.queue.length > 0) {
      const next = this.queue[0]!
      if (group.length > 0 && entries + next.size > this.options.maxGroupEntries) break
      group.push(this.queue.shift()!)
      entries += next.size
    }
    this.queuedEntries -= entries
    return group
  }

  /** @param written called once the group's entries are written and only its COMMIT is left */
  private async commitGroup(group: Pending<J, R>[], written: () => void): Promise<void> {
    let writing = false
    let committing = false
    let outcomes: JobOutcome<R>[]
    const started = performance.now()
    let headsHeld = started
    try {
      outcomes = await this.database.transaction(async (tx) => {
        const writer = await LedgerWriter.lock(
          tx,
          group.flatMap((p) => p.memberIds),
          { copy: this.database.capabilities.copy }
        )
        headsHeld = performance.now()
        let results: JobOutcome<R>[]
        try {
          results = await this.handler(
            tx,
            writer,
            this.clock(),
            group.map((p) => p.job)
          )
          writing = true
          await writer.flush()
        } catch (err) {
          // Entries that failed on their way out are not on record, whoever sent them (the handler or the flush).
          if (writer.sendFailed) writing = true
          // A COPY the handler began holds the connection: end it, or the ROLLBACK waits behind it.
          writer.abandon(err instanceof Error ? err : new Error(String(err)))
          throw err
        }
        committing = true
        written()
        return results
      })
    } catch (err) {
      // One job's value the database refuses must not fail its neighbours: go again one by one.
      // An unreachable database fails them all alike, so that is answered at once, and so is a
      // failed COMMIT: the values were all accepted, and a later group may have begun.
      if (group.length > 1 && !committing && classifyDatabaseError(err) !== 'unavailable') {
        for (const pending of group) await this.commitGroup([pending], () => {})
        return
      }
      const failure = ledgerFailure(err, writing, this.log)
      const reason = failureReason(err, failure)
      if (reason !== undefined) this.options.observe?.appendFailed(group.length, reason)
      for (const pending of group) pending.reject(failure)
      return
    }
    this.options.observe?.groupCommitted(
      group.reduce((entries, p) => entries + p.size, 0),
      (performance.now() - started) / 1000,
      (headsHeld - started) / 1000
    )
    outcomes.forEach((outcome, index) => {
      const pending = group[index]!
      if (outcome.ok) pending.resolve(outcome.value)
      else pending.reject(outcome.error)
    })
  }
}
