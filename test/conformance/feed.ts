import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { Database } from '../../src/db/database.js'
import { FACTS_CHANNEL } from '../../src/db/facts-channel.js'

/**
 * Resolves once a listener on the facts channel demonstrably hears it: a notification sent now
 * has come back among `payloads` (what the listener has heard so far). `feed.live` is not enough
 * on PostgreSQL, where it is true before the channel's LISTEN has taken effect (see the todo in
 * change-feed.test.ts); the LISTEN's effect is what the cases here need, not what they test.
 * @throws after five seconds without hearing one
 */
export async function untilHeard(database: Database, payloads: () => readonly string[]): Promise<void> {
  // Named as a member no test uses: a facts cache that hears it drops nothing it holds.
  const prefix = `${LISTENING}${randomUUID()}-`
  const started = Date.now()
  for (let n = 0; Date.now() - started < 5000; n += 1) {
    await sql`SELECT pg_notify(${FACTS_CHANNEL}, ${prefix + String(n)})`.execute(database.db)
    const sent = Date.now()
    while (Date.now() - sent < 100) {
      if (payloads().some((p) => p.startsWith(prefix))) return
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
  throw new Error('the listener heard nothing on the facts channel within five seconds')
}

/** What the payloads untilHeard sends start with. */
export const LISTENING = 'member:conformance-listening-'
