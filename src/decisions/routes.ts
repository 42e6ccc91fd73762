import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { AUTHENTICATED_PROBLEMS, problems } from '../schemas.js'
import type { ActContext } from './acts.js'
import { preferredLanguage } from './presenter.js'
import { DecisionRef, DecisionRequestSchema, type DecisionRequestBody } from './schemas.js'

const tags = ['Decisions']
const MAX_BATCH = 1000

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', description: 'Repeat a transfer safely: the same key and body return the first response' })
  )
})

const decisionRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  function context(request: FastifyRequest): ActContext {
    return { client: request.client!, language: preferredLanguage(request.headers['accept-language']), log: request.log }
  }

  fastify.post(
    '/v1/checks',
    {
      config: { access: { roles: ['admin', 'ops', 'system'] } },
      schema: {
        operationId: 'check',
        summary: 'Evaluate a hand-off without recording it',
        description: 'Always 200 for a valid request. Nothing is written, except an attempt outside the client’s scope (403, recorded).',
        tags,
        body: DecisionRequestSchema,
        response: { 200: DecisionRef, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
      }
    },
    async (request, reply) => {
      const ctx = context(request)
      const decision = await fastify.decisions.check(ctx, request.body as DecisionRequestBody)
      return reply.header('content-language', ctx.language).send(decision)
    }
  )

  fastify.post(
    '/v1/transfers',
    {
      config: { access: { roles: ['admin', 'ops', 'system'] } },
      schema: {
        operationId: 'transfer',
        summary: 'Decide a hand-off and record it in the audit ledger',
        description:
          '201 when allowed and recorded, 403 when denied (the denial is recorded too; its entry is in the body). ' +
          'An attempt outside the client’s channels or purposes is a 403 problem with code client_scope and the recorded entry. ' +
          'If the ledger cannot record the decision the answer is 503 and nothing is allowed.',
        tags,
        headers: IdempotencyHeaders,
        body: DecisionRequestSchema,
        response: {
          201: { description: 'Allowed and recorded', content: { 'application/json': { schema: DecisionRef } } },
          403: {
            description: 'Denied and recorded (a Decision), or outside the client’s scope (a problem with code client_scope)',
            content: {
              'application/json': { schema: DecisionRef },
              'application/problem+json': { schema: Type.Ref('Problem') }
            }
          },
          ...problems(400, 401, 413, 415, 422, 429, 503)
        }
      }
    },
    async (request, reply) => {
      const ctx = context(request)
      const outcome = await fastify.decisions.transfer(ctx, request.body as DecisionRequestBody, request.headers['idempotency-key'])
      if (outcome.replayed) reply.header('idempotent-replayed', 'true')
      return reply.code(outcome.statusCode as 201 | 403).header('content-language', ctx.language).type('application/json').send(outcome.body)
    }
  )

  fastify.post(
    '/v1/transfers/batch',
    {
      config: { access: { roles: ['admin', 'ops', 'system'] } },
      schema: {
        operationId: 'transferBatch',
        summary: 'Decide and record up to 1000 hand-offs, each on its own',
        description:
          'Results come in request order. Items outside the client’s scope are denied with reason client_scope. ' +
          'All items are recorded in one transaction: if it cannot commit, the whole batch answers 503 and nothing is allowed.',
        tags,
        body: Type.Object({ items: Type.Array(DecisionRequestSchema, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ results: Type.Array(DecisionRef) }),
          ...problems(...AUTHENTICATED_PROBLEMS, 413, 415, 503)
        }
      }
    },
    async (request, reply) => {
      const ctx = context(request)
      const results = await fastify.decisions.batch(ctx, request.body.items as DecisionRequestBody[])
      return reply.header('content-language', ctx.language).send({ results })
    }
  )
}

export default decisionRoutes
