import type { ChangeFeed, ChangeListener } from '../db/change-feed.js'
import type { Client } from './repository.js'

/** Channel on which a change to a client (revocation, new limits) is announced. */
export const CLIENTS_CHANNEL = 'shizenha_clients'

/** Enough for every calling system many times over; past it the cache starts afresh. */
const MAX_ENTRIES = 10_000

/**
 * Clients by token hash, so that a request costs no database round trip to authenticate. It is
 * only trusted while the change feed is live: a revocation anywhere is announced on the feed and
 * drops the client here at once; while the feed is down every lookup goes to the database.
 * A lookup that raced a change is not cached (the generation moved on while it ran).
 */
export class TokenCache implements ChangeListener {
  private readonly byHash = new Map<string, Client>()
  private generation = 0

  constructor(private readonly feed: ChangeFeed) {
    feed.subscribe(CLIENTS_CHANNEL, this)
  }

  /** The cached client, or undefined when the database must be asked. */
  get(tokenHash: string): Client | undefined {
    return this.feed.live ? this.byHash.get(tokenHash) : undefined
  }

  /** A marker to pass to `remember`, taken before the database lookup starts. */
  begin(): number {
    return this.generation
  }

  remember(tokenHash: string, client: Client, startedAt: number): void {
    if (!this.feed.live || startedAt !== this.generation) return
    if (this.byHash.size >= MAX_ENTRIES) this.byHash.clear()
    this.byHash.set(tokenHash, client)
  }

  changed(clientId: string): void {
    this.generation += 1
    for (const [hash, client] of this.byHash) if (client.id === clientId) this.byHash.delete(hash)
  }

  reset(): void {
    this.generation += 1
    this.byHash.clear()
  }
}
