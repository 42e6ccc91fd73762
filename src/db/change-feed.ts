import type { FastifyBaseLogger } from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import type { StorageCapabilities } from './capabilities.js'
import type { Database, Tx } from './database.js'

/** What a cache does with the feed: forget one thing, or forget everything. */
export interface ChangeListener {
  /** Something named by `payload` changed in another process (or this one). */
  changed(payload: string): void
  /** Changes may have been missed (the feed is down or just came back): drop everything cached. */
  reset(): void
}

const RECONNECT_MS = 1000
const CLOSE_WAIT_MS = 1000

/** Starts delivering the embedded database's notifications on `channel` (PGlite delivers them as the notifying transaction commits). */
export type EmbeddedListen = (channel: string, onPayload: (payload: string) => void) => Promise<void>

/**
 * Tells every service process what another one changed, through PostgreSQL's LISTEN/NOTIFY, so
 * that in-process caches stay correct across replicas without guessing a TTL. A notification is
 * sent inside the changing transaction and delivered when it commits. While the listening
 * connection is down, `live` is false and caches must not be trusted; each time it comes back,
 * listeners are reset, since notifications sent meanwhile are lost.
 *
 * The embedded database belongs to one process (DATA_DIR is locked), so there the feed is local:
 * live once it listens, and its notifications arrive before the write that sent them returns.
 */
export class ChangeFeed {
  private readonly listeners = new Map<string, Set<ChangeListener>>()
  private client: pg.Client | undefined
  private connected = false
  private closed = false
  private retry: NodeJS.Timeout | undefined
  /** Embedded channels whose LISTEN has not taken effect yet. */
  private embeddedPending = 0
  /**
   * Channels whose LISTEN the server has not confirmed yet: a change committed before it takes
   * effect is never delivered, so the feed is not live until then.
   */
  private serverPending = 0
  /** One query at a time on the listening connection (pg queues them, and pg 9 will refuse overlap). */
  private listening: Promise<unknown> = Promise.resolve()
  /** Which connection the pending LISTENs belong to: those of a lost one count no more. */
  private generation = 0

  private constructor(
    private readonly url: string | undefined,
    private readonly log: FastifyBaseLogger,
    private readonly embeddedListen: EmbeddedListen | undefined
  ) {}

  /**
   * @param notifications the server's URL, for a listening connection of the feed's own, or the
   *   embedded database's listen; without either (the CLI) this process hears only what it
   *   publishes itself.
   */
  static async open(notifications: StorageCapabilities['notifications'] | undefined, log: FastifyBaseLogger): Promise<ChangeFeed> {
    const url = notifications !== undefined && 'url' in notifications ? notifications.url : undefined
    const listen = notifications !== undefined && 'listen' in notifications ? notifications.listen : undefined
    const feed = new ChangeFeed(url, log, listen)
    if (url !== undefined) await feed.connect()
    return feed
  }

  /** Whether changes made elsewhere reach this process now. */
  get live(): boolean {
    return this.url === undefined ? this.embeddedPending === 0 : this.connected && this.serverPending === 0
  }

  subscribe(channel: string, listener: ChangeListener): void {
    const set = this.listeners.get(channel) ?? new Set()
    const first = set.size === 0
    set.add(listener)
    this.listeners.set(channel, set)
    if (first && this.connected && this.client !== undefined) this.listenOnServer(this.client, channel)
    if (first && this.embeddedListen !== undefined) {
      this.embeddedPending += 1
      this.embeddedListen(channel, (payload) => this.deliver(channel, payload)).then(
        () => (this.embeddedPending -= 1),
        (err: unknown) => this.log.error({ err, channel }, 'the embedded database refused to LISTEN; caches on this channel stay bypassed')
      )
    }
  }

  private listenOnServer(client: pg.Client, channel: string): void {
    const generation = this.generation
    const settled = () => {
      if (generation === this.generation) this.serverPending -= 1
    }
    this.serverPending += 1
    this.listening = this.listening
      .then(() => client.query(`LISTEN ${pg.escapeIdentifier(channel)}`))
      .then(settled, (err: unknown) => {
        settled()
        if (client === this.client) this.lost(err)
      })
  }

  /** Forgets the LISTENs sent on a connection that is gone. */
  private newGeneration(): void {
    this.generation += 1
    this.serverPending = 0
    this.listening = Promise.resolve()
  }

  /**
   * Tells this process's listeners of a change it has just committed, before the caller answers:
   * its own notification comes back through PostgreSQL only a moment later.
   */
  announce(channel: string, payload: string): void {
    this.deliver(channel, payload)
  }

  private deliver(channel: string, payload: string): void {
    for (const listener of this.listeners.get(channel) ?? []) listener.changed(payload)
  }

  /**
   * Runs `change` in a transaction that also announces it to every process (delivered when it
   * commits), then tells this process's own listeners before returning, so the process that
   * made a change never serves it stale, not even before its own notification comes back.
   */
  async publish<T>(database: Database, channel: string, change: (tx: Tx) => Promise<T>, payloadOf: (result: T) => string | undefined): Promise<T> {
    const result = await database.transaction(async (tx) => {
      const value = await change(tx)
      const payload = payloadOf(value)
      if (payload !== undefined) await sql`SELECT pg_notify(${channel}, ${payload})`.execute(tx)
      return value
    })
    const payload = payloadOf(result)
    if (payload !== undefined) this.announce(channel, payload)
    return result
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    const client = this.client
    this.client = undefined
    this.connected = false
    if (client === undefined) return
    // A frozen server never answers the goodbye: give it a moment, then drop the socket.
    const ended = client.end().then(
      () => true,
      () => true
    )
    const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CLOSE_WAIT_MS).unref())
    if (!(await Promise.race([ended, timedOut]))) (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy()
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 })
    client.on('error', (err) => this.lost(err))
    client.on('end', () => this.lost(undefined))
    client.on('notification', (message) => this.deliver(message.channel, message.payload ?? ''))
    try {
      await client.connect()
      for (const channel of this.listeners.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
    } catch (err) {
      await client.end().catch(() => {})
      this.lost(err)
      return
    }
    this.newGeneration()
    this.client = client
    this.connected = true
    this.resetAll()
  }

  private lost(err: unknown): void {
    if (this.closed) return
    if (this.connected) this.log.warn({ err }, 'change feed lost its connection; caches are bypassed until it is back')
    this.connected = false
    this.newGeneration()
    this.client?.removeAllListeners('end')
    void this.client?.end().catch(() => {})
    this.client = undefined
    this.resetAll()
    clearTimeout(this.retry)
    this.retry = setTimeout(() => void this.connect(), RECONNECT_MS)
    this.retry.unref()
  }

  private resetAll(): void {
    for (const set of this.listeners.values()) for (const listener of set) listener.reset()
  }
}
