import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ActContext } from '../recording/acts.js'
import { preferredLanguage } from '../policy/presenter.js'
import type { Replayable } from '../recording/service.js'

/** Who acts, in which language they are answered, and where their request logs: for every route that acts. */
export function actContextOf(request: FastifyRequest): ActContext {
  return { client: request.client!, language: preferredLanguage(request.headers['accept-language']), log: request.log }
}

/** Marks a replayed answer with Idempotent-Replayed: true; returns the result. */
export function markReplayed<T extends Replayable>(reply: FastifyReply, result: T): T {
  if (result.replayed) reply.header('idempotent-replayed', 'true')
  return result
}
