import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DATABASE_ENGINES } from '../db/capabilities.js'
import { Type } from 'typebox'
import { ReaderRefusedError } from '../db/standby.js'
import { DomainError } from '../errors.js'
import { listEntities } from '../entities/repository.js'
import { lintPolicy, POLICY_WARNING_CODES } from '../policy/lint.js'
import { jointUserKinds, missingDetails, NAMED_ENTITIES, providerKinds } from '../policy/parties.js'
import { EXAMPLE } from '../examples.js'
import { policyInForce, policyVersion, POLICY_VERSIONS } from '../policy/registry.js'
import { AUTHENTICATED_PROBLEMS, StringEnum, problemExample, problemsWith, withExamples } from '../schemas.js'

const tags = ['Operations']
/**
 * A database that stalls (a hung server, a black-holed network) would hold the probe as long as
 * the query lasts; the orchestrator wants a prompt "not ready" instead.
 */
const READY_TIMEOUT_MS = 2_000

/** GET /v1/policy as it answers while the example world's version is in force. */
function policyAnswer(version: string) {
  const policy = policyVersion(version)!
  return {
    ...policy,
    warnings: lintPolicy(policy),
    versions: POLICY_VERSIONS.map((v) => ({ version: v.version, effectiveFrom: v.effectiveFrom })),
    ...legalPersonsOf(
      policy,
      NAMED_ENTITIES.map((e) => ({ ...e, missing: missingDetails(e) }))
    )
  }
}

/** Who provides and who uses jointly under `policy`, by kind, and every legal person of the notice. */
function legalPersonsOf<E>(policy: Parameters<typeof jointUserKinds>[0], entities: E[]) {
  return { jointUserKinds: jointUserKinds(policy), providerKinds: providerKinds(policy), entities }
}

const METRICS_EXAMPLE = [
  '# HELP shizenha_decisions_total Decisions made, by channel, outcome and whether they were checks or recorded transfers',
  '# TYPE shizenha_decisions_total counter',
  'shizenha_decisions_total{channel="third_party",decision="allow",action="transfer"} 1520',
  'shizenha_decisions_total{channel="third_party",decision="deny",action="transfer"} 12',
  '# HELP shizenha_http_responses_total HTTP responses by route pattern and status code',
  '# TYPE shizenha_http_responses_total counter',
  'shizenha_http_responses_total{route="/v1/transfers",status="201"} 1520',
  ''
].join('\n')

const operationRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // A newcomer who opens the service's address lands on its reference page, not on a 404.
  fastify.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => reply.redirect('/docs', 302))

  fastify.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'health',
        summary: 'The process is up',
        tags,
        response: { 200: withExamples(Type.Object({ status: Type.Literal('ok') }), { up: { summary: 'Up', value: { status: 'ok' } } }, 'The process is up') }
      }
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
          200: withExamples(
            Type.Object({ status: Type.Literal('ready'), database: Type.String({ description: DATABASE_ENGINES.join(' or ') }) }),
            { ready: { summary: 'Ready', value: { status: 'ready', database: DATABASE_ENGINES[0] } } },
            'Ready for traffic'
          ),
          ...problemsWith(
            {
              503: {
                not_ready: problemExample(
                  'The database is unreachable or not migrated',
                  new DomainError('not_ready', 503, 'Service Unavailable', 'the database is unreachable or not migrated')
                ),
                shutting_down: problemExample(
                  'The service is shutting down',
                  new DomainError('not_ready', 503, 'Service Unavailable', 'the service is shutting down')
                )
              }
            },
            503
          )
        }
      }
    },
    async (request) => {
      // Closing: the orchestrator must stop sending traffic here, whatever the database says.
      if (fastify.draining) throw new DomainError('not_ready', 503, 'Service Unavailable', 'the service is shutting down')
      let timer: NodeJS.Timeout | undefined
      // A standby that answers but is not the primary's takes the service out of rotation; one that
      // cannot be reached does not: decisions never read it, and the reads that do fail on their own.
      const proveReader = () =>
        fastify.database.proveReader().catch((err: unknown) => {
          if (err instanceof ReaderRefusedError) throw err
          request.log.warn({ err }, 'the standby of DATABASE_READ_URL cannot be reached')
        })
      try {
        const check = fastify.database
          .ping()
          .then(() => fastify.database.isMigrated())
          .then(async (migrated) => {
            if (migrated) await proveReader()
            return migrated
          })
        const late = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS)))
        const outcome = await Promise.race([check, late])
        if (outcome === true) return { status: 'ready' as const, database: fastify.database.capabilities.engine }
        if (outcome === 'timeout') request.log.warn({ timeoutMs: READY_TIMEOUT_MS }, 'readiness check timed out')
      } catch (err) {
        if (err instanceof ReaderRefusedError) {
          request.log.error({ err }, 'not ready: DATABASE_READ_URL is not a standby of DATABASE_URL')
          throw new DomainError('not_ready', 503, 'Service Unavailable', err.message)
        }
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
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: Type.String(), examples: { metrics: { summary: 'Two of the counters', value: METRICS_EXAMPLE } } } }
          }
        }
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
          200: withExamples(
            Type.Object(
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
                versions: Type.Array(Type.Object({ version: Type.String(), effectiveFrom: Type.String() })),
                jointUserKinds: Type.Array(Type.String(), { description: 'The kinds of legal person that use jointly under 2(2) in this version' }),
                providerKinds: Type.Array(Type.String(), { description: 'The kinds responsible for management (2(2)): those that provide' }),
                entities: Type.Array(Type.Any(), { description: 'Every legal person of the notice, as GET /v1/entities lists them' })
              },
              { additionalProperties: true }
            ),
            { v1: { summary: `Version ${EXAMPLE.policyVersion}, with the warnings the lint finds in it`, value: policyAnswer(EXAMPLE.policyVersion) } },
            'The policy in force'
          ),
          ...problemsWith({}, ...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async () => {
      const policy = policyInForce(fastify.now())
      const entities = (await listEntities(fastify.database.db)).map((e) => ({ ...e, missing: missingDetails(e) }))
      return {
        ...policy,
        warnings: lintPolicy(policy),
        versions: POLICY_VERSIONS.map((v) => ({ version: v.version, effectiveFrom: v.effectiveFrom })),
        ...legalPersonsOf(policy, entities)
      }
    }
  )
}

export default operationRoutes
