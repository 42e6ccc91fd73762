import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { DomainError } from '../errors.js'
import { lintPolicy, POLICY_WARNING_CODES } from '../policy/lint.js'
import { policyInForce, POLICY_VERSIONS } from '../policy/registry.js'
import { AUTHENTICATED_PROBLEMS, StringEnum, problems } from '../schemas.js'

const tags = ['Operations']
/**
 * A database that stalls (a hung server, a black-holed network) would hold the probe as long as
 * the query lasts; the orchestrator wants a prompt "not ready" instead.
 */
const READY_TIMEOUT_MS = 2_000

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
      // Closing: the orchestrator must stop sending traffic here, whatever the database says.
      if (fastify.draining) throw new DomainError('not_ready', 503, 'Service Unavailable', 'the service is shutting down')
      let timer: NodeJS.Timeout | undefined
      try {
        const check = fastify.database.ping().then(() => fastify.database.isMigrated())
        const late = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS)))
        const outcome = await Promise.race([check, late])
        if (outcome === true) return { status: 'ready' as const, database: fastify.database.kind }
        if (outcome === 'timeout') request.log.warn({ timeoutMs: READY_TIMEOUT_MS }, 'readiness check timed out')
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed')
      } finally {
        clearTimeout(timer)
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
    async (_request, reply) => reply.type(fastify.metrics.contentType).send(await fastify.metrics.render())
  )

  fastify.get(
    '/v1/policy',
    {
      config: { access: { roles: ['admin', 'ops', 'system'] } },
      schema: {
        operationId: 'getPolicy',
        summary: 'The policy in force: the privacy notice as versioned data',
        description:
          'Clause texts in ja (quoted from the published notice, the authority) and en. `versions` lists every published version. ' +
          '`warnings` lists what this version of the notice fails to state under APPI, each with its article and clause; it is computed ' +
          'from the document, so a version that states what was missing has no such warning.',
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
              warnings: Type.Array(
                Type.Object({
                  code: StringEnum(POLICY_WARNING_CODES),
                  article: Type.String({ description: 'The APPI article the notice falls short of, e.g. APPI Art. 27(5)(iii)' }),
                  clause: Type.String({ description: 'The clause of the notice the gap is in, e.g. 2(2)' }),
                  ja: Type.String(),
                  en: Type.String()
                })
              ),
              versions: Type.Array(Type.Object({ version: Type.String(), effectiveFrom: Type.String() }))
            },
            { additionalProperties: true }
          ),
          ...problems(...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async () => {
      const policy = policyInForce(fastify.now())
      return {
        ...policy,
        warnings: lintPolicy(policy),
        versions: POLICY_VERSIONS.map((v) => ({ version: v.version, effectiveFrom: v.effectiveFrom }))
      }
    }
  )
}

export default operationRoutes
