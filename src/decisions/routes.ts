import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { EXAMPLE_ENTRY } from '../examples.js'
import { ClientScopeError, LedgerUnavailableError } from '../errors.js'
import { AUTHENTICATED_PROBLEMS, IDEMPOTENT_REPLAYED_HEADER, IdempotencyKeyHeaders, problemExample, problemsWith, withExamples } from '../schemas.js'
import {
  BATCH_REQUEST_EXAMPLES,
  BATCH_RESPONSE_EXAMPLES,
  BATCH_VALIDATION_EXAMPLES,
  CHECK_RESPONSE_EXAMPLES,
  DECISION_REQUEST_EXAMPLES,
  DECISION_RESPONSE_HEADERS,
  DECISION_VALIDATION_EXAMPLES,
  DecisionHeaders,
  DecisionRef,
  DecisionRequestSchema,
  TRANSFER_ALLOWED_EXAMPLES,
  TRANSFER_DENIED_EXAMPLES
} from './schemas.js'
import { actContextOf, markReplayed } from './request-context.js'

const tags = ['Decisions']
const MAX_BATCH = 1000

const LanguageHeaders = Type.Object(DecisionHeaders)
const RecordingHeaders = Type.Object({ ...DecisionHeaders, ...IdempotencyKeyHeaders })
const DecisionRequestBodySchema = withExamples(DecisionRequestSchema, DECISION_REQUEST_EXAMPLES)
/** The 400s, 413s and 415s of a decision route; the other statuses have defaults of their own. */
const DECISION_PROBLEM_EXAMPLES = { 400: DECISION_VALIDATION_EXAMPLES }
const RECORDING_HEADERS = { ...DECISION_RESPONSE_HEADERS, ...IDEMPOTENT_REPLAYED_HEADER }

const decisionRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/v1/checks',
    {
      config: { access: { roles: ['admin', 'ops', 'system'] } },
      schema: {
        operationId: 'check',
        summary: 'Evaluate a hand-off without recording it',
        description: 'Always 200 for a valid request. Nothing is written, except an attempt outside the client’s scope (403, recorded).',
        tags,
        headers: LanguageHeaders,
        body: DecisionRequestBodySchema,
        response: {
          200: {
            description: 'Decided: allow or deny; nothing recorded',
            headers: DECISION_RESPONSE_HEADERS,
            content: { 'application/json': { schema: DecisionRef, examples: CHECK_RESPONSE_EXAMPLES } }
          },
          ...problemsWith(DECISION_PROBLEM_EXAMPLES, ...AUTHENTICATED_PROBLEMS, 413, 415)
        }
      }
    },
    async (request, reply) => {
      const ctx = actContextOf(request)
      const decision = await fastify.decisions.check(ctx, request.body)
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
        headers: RecordingHeaders,
        body: DecisionRequestBodySchema,
        response: {
          201: {
            description: 'Allowed and recorded',
            headers: RECORDING_HEADERS,
            content: { 'application/json': { schema: DecisionRef, examples: TRANSFER_ALLOWED_EXAMPLES } }
          },
          403: {
            description: 'Denied and recorded (a Decision), or outside the client’s scope (a problem with code client_scope)',
            headers: RECORDING_HEADERS,
            content: {
              'application/json': { schema: DecisionRef, examples: TRANSFER_DENIED_EXAMPLES },
              'application/problem+json': {
                schema: Type.Ref('Problem'),
                examples: {
                  client_scope: problemExample(
                    'Outside the calling system’s channels or purposes; the attempt is recorded',
                    new ClientScopeError(EXAMPLE_ENTRY)
                  )
                }
              }
            }
          },
          ...problemsWith(
            {
              ...DECISION_PROBLEM_EXAMPLES,
              503: {
                ledger_unavailable: problemExample('The ledger could not record the decision: do not hand the data over', new LedgerUnavailableError())
              }
            },
            400,
            401,
            413,
            415,
            422,
            429,
            503
          )
        }
      }
    },
    async (request, reply) => {
      const ctx = actContextOf(request)
      const outcome = markReplayed(reply, await fastify.decisions.transfer(ctx, request.body, request.headers['idempotency-key']))
      return reply.code(outcome.statusCode).header('content-language', ctx.language).type('application/json').send(outcome.body)
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
          'All items are recorded in one transaction: if it cannot commit, the whole batch answers 503 and nothing is allowed. ' +
          'With an Idempotency-Key, a batch whose answer was lost may be sent again: a batch already recorded answers as it did then.',
        tags,
        headers: RecordingHeaders,
        body: withExamples(
          Type.Object({ items: Type.Array(DecisionRequestSchema, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
          BATCH_REQUEST_EXAMPLES
        ),
        response: {
          200: {
            ...withExamples(Type.Object({ results: Type.Array(DecisionRef) }), BATCH_RESPONSE_EXAMPLES, 'Each item decided and recorded, in request order'),
            headers: RECORDING_HEADERS
          },
          ...problemsWith({ 400: BATCH_VALIDATION_EXAMPLES }, ...AUTHENTICATED_PROBLEMS, 413, 415, 422, 503)
        }
      }
    },
    async (request, reply) => {
      const ctx = actContextOf(request)
      const { results } = markReplayed(reply, await fastify.decisions.batch(ctx, request.body.items, request.headers['idempotency-key']))
      return reply.header('content-language', ctx.language).send({ results })
    }
  )
}

export default decisionRoutes
