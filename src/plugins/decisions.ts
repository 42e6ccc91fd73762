import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { DecisionService } from '../decisions/service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every decision and recorded act goes through here; it owns the group commits. */
    decisions: DecisionService
  }
}

/** A group holds up to this many entries: two full batches, so a batch is never held back long. */
const MAX_GROUP_ENTRIES = 2000
/** Past this many waiting entries (about a second of work at full speed), callers get 503 at once. */
const MAX_QUEUED_ENTRIES = 20_000

export default fp(
  async function decisions(fastify: FastifyInstance) {
    const service = new DecisionService(fastify.database, fastify.now, fastify.log, {
      maxGroupEntries: MAX_GROUP_ENTRIES,
      maxQueuedEntries: MAX_QUEUED_ENTRIES
    })
    fastify.decorate('decisions', service)
    // Whatever was queued is answered before the database closes.
    fastify.addHook('preClose', async () => service.drained())
    fastify.addHook('onClose', async () => service.drained())
  },
  { name: 'decisions', dependencies: ['database'] }
)
