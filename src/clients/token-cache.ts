import type { ChangeFeed, ChangeListener } from '../db/change-feed.js'
import type { Client } from './repository.js'

/**
 * Channel on which a change to a client (revocation, new limits) is announced: its id, or `*`
 * for every client. A trigger on `clients` announces every update and delete, whoever makes it.
 */
export const CLIENTS_CHANNEL = 'shizenha_clients'

/** Enough for every calling system many times over; past it the cache starts afresh. */
const MAX_ENTRIES = 10_000

/** A monotonic clock in milliseconds: the TTL measures time passed, not the service's clock. */
export type Monotonic = () => number

/** When a database lookup began, as `begin` hands it out. */
export interface Lookup {
  readonly generation: number
  readonly at: number
}

/**
 * Clients by token hash, so that a request costs no database round trip to authenticate. It is
 * only trusted while the change feed is live: a revocation anywhere is announced on the feed and
 * drops the client here at once; while the feed is down every lookup goes to the database.
 * A lookup that raced a change is not cached (the generation moved on while it ran).
 * Each entry also lives at most `ttlMs` (TOKEN_CACHE_TTL_MS; 0: nothing is cached), so a change
 * that is never announced (made with triggers disabled, say) still holds within that bound.
 */
export class TokenCache implements ChangeListener {
  private readonly byHash = new Map<string, { readonly client: Client; readonly at: number }>()
  private generation = 0

  constructor(
    private readonly feed: ChangeFeed,
    private readonly ttlMs: number,
    private readonly clock: Monotonic = () => performance.now()
  ) {
    feed.subscribe(CLIENTS_CHANNEL, this)
  }

  /** The cached client, or undefined when the database must be asked. */
  get(tokenHash: string): Client | undefined {
    if (!this.feed.live) return undefined
    const entry = this.byHash.get(tokenHash)
    if (entry === undefined) return undefined
    if (this.clock() - entry.at < this.ttlMs) return entry.client
    this.byHash.delete(tokenHash)
    return undefined
  }

  /** A marker to pass to `remember`, taken before the database lookup starts. */
  begin(): Lookup {
    return { generation: this.generation, at: this.clock() }
  }

  /** Keeps `client` until the TTL has passed since its lookup began: the age of what the database said. */
  remember(tokenHash: string, client: Client, started: Lookup): void {
    if (this.ttlMs === 0 || !this.feed.live || started.generation !== this.generation) return
    if (this.byHash.size >= MAX_ENTRIES) this.byHash.clear()
    this.byHash.set(tokenHash, { client, at: started.at })
  }

  changed(clientId: string): void {
    if (clientId === '*') return this.reset()
    this.generation += 1
    for (const [hash, { client }] of this.byHash) if (client.id === clientId) this.byHash.delete(hash)
  }

  reset(): void {
    this.generation += 1
    this.byHash.clear()
  }
}
