import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { DomainError } from '../errors.js'
import { registry } from '../metrics.js'
import { policyInForce, POLICY_VERSIONS } from '../policy/registry.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../schemas.js'

const tags = ['Operations']

const operationRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: { operationId: 'health', summary: 'The process is up', tags, response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
    },
    async () => ({ status: 'ok' as const })
  )

  fastify.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'ready',
        summary: 'The database is reachable and migrated',
        tags,
        response: {
          200: Type.Object({ status: Type.Literal('ready'), database: Type.String() }),
          ...problems(503)
        }
      }
    },
    async (request) => {
      try {
        await fastify.database.ping()
        if (await fastify.database.isMigrated()) return { status: 'ready' as const, database: fastify.database.kind }
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed')
      }
      throw new DomainError('not_ready', 503, 'Service Unavailable', 'the database is unreachable or not migrated')
    }
  )

  fastify.get(
    '/metrics',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        tags,
        response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } } }
      }
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics())
  )

  fastify.get(
    '/v1/policy',
    {
      config: { access: { roles: ['admin', 'ops', 'system'] } },
      schema: {
        operationId: 'getPolicy',
        summary: 'The policy in force: the privacy notice as versioned data',
        description: 'Clause texts in ja (quoted from the published notice, the authority) and en. `versions` lists every published version.',
        tags: ['Policy'],
        response: {
          200: Type.Object(
            {
              version: Type.String(),
              effectiveFrom: Type.String(),
              clauses: Type.Array(Type.Object({ id: Type.String(), ja: Type.String(), en: Type.String() })),
              purposes: Type.Array(Type.Any()),
              serviceCategories: Type.Array(Type.Any()),
              recipientCategories: Type.Array(Type.Any()),
              dataItems: Type.Array(Type.Any()),
              versions: Type.Array(Type.Object({ version: Type.String(), effectiveFrom: Type.String() }))
            },
            { additionalProperties: true }
          ),
          ...problems(...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async () => ({
      ...policyInForce(fastify.now()),
      versions: POLICY_VERSIONS.map((v) => ({ version: v.version, effectiveFrom: v.effectiveFrom }))
    })
  )
}

export default operationRoutes
