import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { classifyDatabaseError } from '../db/errors.js'
import { checkpointSettingsOf, CheckpointService, LedgerRewrittenError } from './checkpoints-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Signed checkpoints of the ledger, and verify (one run at a time per process). */
    checkpoints: CheckpointService
  }
}

/** How often the periodic checkpoint looks whether one is due, at most. */
const POLL_MS = 5_000

/**
 * Decorates the app with the checkpoint service and takes checkpoints when they are due
 * (CHECKPOINT_EVERY_ENTRIES entries not yet covered, or CHECKPOINT_INTERVAL_SECONDS since the
 * latest one with entries appended since): it looks every 5 seconds, or every interval when that
 * is shorter. Replicas share the work safely: a checkpoint is taken under an advisory lock and
 * only when still due. Stops looking, and lets a checkpoint or verify in progress end, before the
 * database closes.
 */
export default fp(
  async function checkpoints(fastify: FastifyInstance) {
    const { config, database } = fastify
    const service = new CheckpointService(database, checkpointSettingsOf(config, database.capabilities), fastify.log, fastify.now)
    await service.start()
    fastify.decorate('checkpoints', service)
    fastify.metrics.watchCheckpointSigning(() => service.signing)

    let current: Promise<void> | undefined
    let timer: NodeJS.Timeout | undefined = undefined
    fastify.addHook('preClose', async () => {
      clearInterval(timer)
      await current
      await service.idle()
    })

    const { checkpointEveryEntries: every, checkpointIntervalSeconds: interval } = config
    if (!service.canSign || (every === 0 && interval === 0)) return
    let reported: string | undefined
    const tick = async () => {
      try {
        await service.takeIfDue()
        reported = undefined
      } catch (err) {
        // Said once per distinct trouble, not every few seconds.
        const trouble = err instanceof LedgerRewrittenError ? err.message : classifyDatabaseError(err)
        if (trouble === reported) return
        reported = trouble
        if (trouble === 'unavailable') fastify.log.debug({ err }, 'periodic checkpoint skipped: the database is unavailable')
        else fastify.log.error({ err }, 'periodic checkpoint failed')
      }
    }
    timer = setInterval(
      () => {
        current ??= tick().finally(() => (current = undefined))
      },
      interval > 0 ? Math.min(POLL_MS, interval * 1000) : POLL_MS
    )
    timer.unref()
  },
  { name: 'checkpoints', dependencies: ['database', 'metrics'] }
)
