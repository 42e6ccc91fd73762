import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { FactsCache } from '../recording/facts-cache.js'
import { DecisionService } from '../recording/service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every decision and recorded act goes through here; it owns the group commits. */
    decisions: DecisionService
  }
}

/** A group holds up to this many entries: two full batches, so a batch is never held back long. */
const MAX_GROUP_ENTRIES = 2000

export default fp(
  async function decisions(fastify: FastifyInstance) {
    const { metrics } = fastify
    const service = new DecisionService(fastify.database, fastify.now, fastify.log, {
      maxGroupEntries: MAX_GROUP_ENTRIES,
      // This bound is the load shedding of recorded acts: past it (default 20,000 waiting entries,
      // about a second of work at full speed) callers get 503 ledger_busy at once, exactly when
      // the queue is full and only for acts that need it; reads and checks go on.
      maxQueuedEntries: fastify.config.ledgerMaxQueuedEntries,
      observe: metrics.groupCommit,
      overlapCommits: fastify.database.capabilities.overlappingCommits,
      countDecision: metrics.decided,
      checkFacts: new FactsCache(fastify.changes),
      countCheckFacts: metrics.checkFactsFrom
    })
    metrics.watchLedgerQueue(() => service.queueDepth, fastify.config.ledgerMaxQueuedEntries)
    fastify.decorate('decisions', service)
    // On close, whatever is queued or committing is answered before the listener closes (preClose);
    // acts of requests that were already in flight and reach the queue later are answered before
    // the database closes (onClose runs once every connection has been answered).
    fastify.addHook('preClose', async () => {
      const depth = service.queueDepth
      await service.drained()
      fastify.log.info({ queuedEntries: depth }, 'ledger queue drained')
    })
    fastify.addHook('onClose', async () => service.drained())
  },
  { name: 'decisions', dependencies: ['database', 'metrics', 'change-feed'] }
)
