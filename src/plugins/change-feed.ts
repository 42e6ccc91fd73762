import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ChangeFeed } from '../db/change-feed.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Changes made by any service process, for caches that must not go stale. */
    changes: ChangeFeed
  }
}

export default fp(
  async function changeFeed(fastify: FastifyInstance) {
    const { database } = fastify
    const feed = await ChangeFeed.open(database.capabilities.notifications, fastify.log)
    fastify.decorate('changes', feed)
    fastify.addHook('onClose', async () => feed.close())
  },
  { name: 'change-feed', dependencies: ['database'] }
)
