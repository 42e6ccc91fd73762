import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { AppendFailureReason, GroupCommitObserver } from './ledger/group-commit.js'

/** What a pg Pool says of itself; read on every scrape. */
export interface PoolUsage {
  /** Connections open, busy or idle (pg's `totalCount`). */
  readonly total: number
  /** Connections open and idle (`idleCount`). */
  readonly idle: number
  /** Callers waiting for a connection (`waitingCount`). */
  readonly waiting: number
}

/** The ledger's size and its latest signed checkpoint, read from the database on every scrape. */
export interface LedgerState {
  /** Entries in the ledger: the sum of the chains' head seqs. */
  readonly entries: number
  /** Undefined while there is no checkpoint (or no checkpoint table). */
  readonly checkpoint: { readonly signedAt: Date; readonly entries: number } | undefined
}

const APPEND_FAILURE_REASONS: readonly AppendFailureReason[] = ['queue_full', 'database_unavailable', 'commit_failed']

/** A scrape waits this long at most for what it reads from the database, then shows the last values. */
const COLLECT_TIMEOUT_MS = 1_000

const seconds = (date: Date) => date.getTime() / 1000

/**
 * The service's Prometheus metrics, one set per app (src/plugins/metrics.ts makes it): two apps in
 * one process count apart. Recorders are called where things happen; `watch*` sources are read
 * when /metrics is scraped. Names and labels are the contract of ops/grafana/dashboard.json and
 * ops/prometheus/alerts.yml (test/ops checks every name they use).
 */
export class ServiceMetrics {
  readonly registry = new Registry()
  private readonly collectors: (() => Promise<void>)[] = []

  private readonly decisions = new Counter({
    name: 'shizenha_decisions_total',
    help: 'Decisions made, by channel, outcome and whether they were checks or recorded transfers',
    labelNames: ['channel', 'decision', 'action'] as const,
    registers: [this.registry]
  })

  private readonly checkFacts = new Counter({
    name: 'shizenha_check_facts_total',
    help: 'Where checks found their facts: hit (in memory), miss (read from the database, then kept), bypass (read, not kept: the change feed was down or a change raced the read)',
    labelNames: ['source'] as const,
    registers: [this.registry]
  })

  private readonly responses = new Counter({
    name: 'shizenha_http_responses_total',
    help: 'HTTP responses by route pattern and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry]
  })

  private readonly requestDuration = new Histogram({
    name: 'shizenha_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response, by route pattern and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry]
  })

  private readonly groupEntries = new Histogram({
    name: 'shizenha_ledger_group_entries',
    help: 'Entries per committed group of the ledger group commit',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
    registers: [this.registry]
  })

  private readonly groupDuration = new Histogram({
    name: 'shizenha_ledger_group_commit_duration_seconds',
    help: 'Duration of the transaction of each committed group (lock the heads, decide, append, commit)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry]
  })

  private readonly groupHeadsWait = new Histogram({
    name: 'shizenha_ledger_group_heads_wait_seconds',
    help: "Part of each committed group's transaction spent before it held the heads of its chains (waiting for the group before it on the same chains)",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry]
  })

  private readonly appendFailures = new Counter({
    name: 'shizenha_ledger_append_failures_total',
    help: 'Acts that could not be recorded (answered 503, nothing allowed), by reason: queue_full, database_unavailable, commit_failed',
    labelNames: ['reason'] as const,
    registers: [this.registry]
  })

  private readonly queueEntries = new Gauge({
    name: 'shizenha_ledger_queue_entries',
    help: 'Entries waiting for a ledger group commit',
    registers: [this.registry]
  })

  private readonly queueMaxEntries = new Gauge({
    name: 'shizenha_ledger_queue_max_entries',
    help: 'The bound of the ledger queue (LEDGER_MAX_QUEUED_ENTRIES): past it, acts are refused with 503 ledger_busy',
    registers: [this.registry]
  })

  private readonly poolTotal = new Gauge({
    name: 'shizenha_db_pool_total_connections',
    help: 'PostgreSQL connections open in the pool, busy or idle (0 on the embedded database)',
    registers: [this.registry]
  })

  private readonly poolIdle = new Gauge({
    name: 'shizenha_db_pool_idle_connections',
    help: 'PostgreSQL connections open and idle in the pool (0 on the embedded database)',
    registers: [this.registry]
  })

  private readonly poolWaiting = new Gauge({
    name: 'shizenha_db_pool_waiting_clients',
    help: 'Queries waiting for a free PostgreSQL connection (0 on the embedded database)',
    registers: [this.registry]
  })

  private readonly poolMax = new Gauge({
    name: 'shizenha_db_pool_max_connections',
    help: 'The size of the PostgreSQL pool (DATABASE_POOL_SIZE; 0 on the embedded database)',
    registers: [this.registry]
  })

  // The gauges below are absent until known: a 0 would read as "in 1970" or "failed".

  private readonly verifyOk = new Gauge({
    name: 'shizenha_ledger_last_verify_ok',
    help: '1 when the last ledger verify run by this process found every chain intact, 0 when it did not; absent before the first',
    registers: [this.registry]
  })

  private readonly verifyTime = new Gauge({
    name: 'shizenha_ledger_last_verify_timestamp_seconds',
    help: 'Unix time at which the last ledger verify run by this process ended; absent before the first',
    registers: [this.registry]
  })

  private readonly ledgerEntries = new Gauge({
    name: 'shizenha_ledger_entries',
    help: "Entries in the ledger (the sum of the 16 chains' lengths), read on scrape",
    registers: [this.registry]
  })

  private readonly checkpointTime = new Gauge({
    name: 'shizenha_ledger_last_checkpoint_timestamp_seconds',
    help: 'Unix time of the latest signed checkpoint, read on scrape; absent while there is none',
    registers: [this.registry]
  })

  private readonly checkpointEntries = new Gauge({
    name: 'shizenha_ledger_last_checkpoint_entries',
    help: 'Entries covered by the latest signed checkpoint (its tree size), read on scrape; absent while there is none',
    registers: [this.registry]
  })

  private readonly checkpointSigning = new Gauge({
    name: 'shizenha_ledger_checkpoint_signing',
    help: "1 when this process signs checkpoints, 0 when it signs none (another replica's key signs this database's checkpoints: see the start-up log); read on scrape",
    registers: [this.registry]
  })

  /** For the ledger's group committer (GroupCommitOptions.observe). */
  readonly groupCommit: GroupCommitObserver = {
    groupCommitted: (entries, seconds, headsWaitSeconds) => {
      this.groupEntries.observe(entries)
      this.groupDuration.observe(seconds)
      this.groupHeadsWait.observe(headsWaitSeconds)
    },
    appendFailed: (jobs, reason) => this.appendFailures.inc({ reason }, jobs)
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry })
    // Every reason shows from the start, so that rate() sees the first failure.
    for (const reason of APPEND_FAILURE_REASONS) this.appendFailures.inc({ reason }, 0)
    for (const gauge of [this.verifyOk, this.verifyTime, this.ledgerEntries, this.checkpointTime, this.checkpointEntries]) gauge.remove()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** One response sent; `route` is the route pattern (never the raw URL: it would carry member ids). */
  responded(route: string, method: string, status: number, durationSeconds: number): void {
    this.responses.inc({ route, status: String(status) })
    this.requestDuration.observe({ route, method }, durationSeconds)
  }

  /** One decision made (a check, or a transfer once it is committed). */
  readonly decided = (channel: string, decision: 'allow' | 'deny', action: 'check' | 'transfer'): void => {
    this.decisions.inc({ channel, decision, action })
  }

  /** One check's facts came from memory (hit), the database then kept (miss), or the database alone (bypass). */
  readonly checkFactsFrom = (source: 'hit' | 'miss' | 'bypass'): void => {
    this.checkFacts.inc({ source })
  }

  /** A ledger verify ended with this report: wherever verifyLedger's result is produced. */
  verified(report: { readonly ok: boolean }, at: Date = new Date()): void {
    this.verifyOk.set(report.ok ? 1 : 0)
    this.verifyTime.set(seconds(at))
  }

  /** The ledger queue's depth, read on scrape, and its bound. */
  watchLedgerQueue(depth: () => number, maxEntries: number): void {
    this.queueMaxEntries.set(maxEntries)
    this.collectors.push(async () => this.queueEntries.set(depth()))
  }

  /** The connection pool, read on scrape; `usage` answers undefined when there is none (PGlite). */
  watchPool(usage: () => PoolUsage | undefined, maxConnections: number): void {
    this.collectors.push(async () => {
      const now = usage()
      this.poolTotal.set(now?.total ?? 0)
      this.poolIdle.set(now?.idle ?? 0)
      this.poolWaiting.set(now?.waiting ?? 0)
      this.poolMax.set(now === undefined ? 0 : maxConnections)
    })
  }

  /** Whether this process signs checkpoints, read on scrape. */
  watchCheckpointSigning(signing: () => boolean): void {
    this.collectors.push(async () => this.checkpointSigning.set(signing() ? 1 : 0))
  }

  /**
   * The ledger's size and latest checkpoint, read on scrape. When `read` fails or takes longer
   * than a second, the scrape shows the values last read (a checkpoint's time never goes back).
   */
  watchLedger(read: () => Promise<LedgerState>, onError: (err: unknown) => void): void {
    this.collectors.push(async () => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), COLLECT_TIMEOUT_MS)))
      try {
        const state = await Promise.race([read(), late])
        if (state === undefined) return
        this.ledgerEntries.set(state.entries)
        if (state.checkpoint === undefined) {
          this.checkpointTime.remove()
          this.checkpointEntries.remove()
        } else {
          this.checkpointTime.set(seconds(state.checkpoint.signedAt))
          this.checkpointEntries.set(state.checkpoint.entries)
        }
      } catch (err) {
        onError(err)
      } finally {
        clearTimeout(timer)
      }
    })
  }

  /** The Prometheus text exposition of every metric, after reading the scrape-time sources. */
  async render(): Promise<string> {
    await Promise.all(this.collectors.map((collect) => collect()))
    return this.registry.metrics()
  }
}
