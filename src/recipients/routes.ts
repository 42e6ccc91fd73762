import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError, InvalidRequestError } from '../errors.js'
import { EXAMPLE, EXAMPLE_RECIPIENT } from '../examples.js'
import {
  AUTHENTICATED_PROBLEMS,
  Country,
  EquivalentMeasuresSchema,
  Nullable,
  Text,
  Uuid,
  problemExample,
  problemsWith,
  validationExample,
  withExample,
  withExamples
} from '../schemas.js'
import { findRecipient, insertRecipient, listRecipients, updateRecipient } from './repository.js'
import { NewRecipientSchema, RecipientCode, RecipientFilterSchema, RecipientSchema } from './schemas.js'
import { FACTS_CHANNEL, factKey } from '../db/facts-channel.js'

const RecipientParams = Type.Object({ id: withExample(Uuid, EXAMPLE.recipientId) })
const tags = ['Registries']

const RECIPIENT = {
  id: EXAMPLE.recipientId,
  ...EXAMPLE_RECIPIENT,
  country: 'JP',
  active: true,
  equivalentMeasures: null,
  code: null,
  createdAt: EXAMPLE.createdAt,
  updatedAt: EXAMPLE.createdAt
}
const NOT_FOUND = { not_found: problemExample('No recipient with this id', new NotFoundError('recipient')) }
const ID_VALIDATION = { validation_failed: validationExample('The id is not a UUID', [{ path: 'params/id', message: 'must match format "uuid"' }]) }

const recipientRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/v1/recipients',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        operationId: 'createRecipient',
        summary: 'Register a §II recipient',
        tags,
        body: withExamples(NewRecipientSchema, {
          bank: { summary: 'A bank that debits members’ accounts (II.3)', value: EXAMPLE_RECIPIENT },
          insurer: {
            summary: 'An insurer (II.1)',
            value: {
              category: 'insurer',
              name: '自然派共済保険株式会社',
              address: '東京都千代田区丸の内1-1-1',
              representative: '代表取締役 高橋一郎',
              country: 'JP'
            }
          }
        }),
        response: {
          201: {
            ...withExamples(RecipientSchema, { bank: { summary: 'Registered', value: RECIPIENT } }, 'Registered; Location names it'),
            headers: { Location: { type: 'string', description: 'The recipient: /v1/recipients/{id}' } }
          },
          ...problemsWith(
            {
              400: {
                validation_failed: validationExample('An unknown category', [
                  { path: 'body/category', message: 'must be one of: insurer, travel_provider, financial_institution, credit_company, member_activity' }
                ])
              }
            },
            ...AUTHENTICATED_PROBLEMS
          )
        }
      }
    },
    async (request, reply) => {
      const recipient = await insertRecipient(fastify.database.db, request.body, fastify.now())
      fastify.changes.announce(FACTS_CHANNEL, factKey.recipient(recipient.id))
      return reply.code(201).header('location', `/v1/recipients/${recipient.id}`).send(recipient)
    }
  )

  fastify.get(
    '/v1/recipients',
    {
      config: { access: { roles: ['admin', 'ops', 'system'] } },
      schema: {
        operationId: 'listRecipients',
        summary: 'List registered recipients',
        description:
          'A calling system (system role) finds the recipient it hands data to here, by name or by its code (a bank’s 金融機関コード); it is shown active recipients only.',
        tags,
        querystring: RecipientFilterSchema,
        response: {
          200: withExamples(
            Type.Object({ recipients: Type.Array(RecipientSchema) }),
            { recipients: { summary: 'One bank', value: { recipients: [RECIPIENT] } } },
            'The recipients, as filtered'
          ),
          ...problemsWith(
            { 400: { validation_failed: validationExample('active is not a boolean', [{ path: 'querystring/active', message: 'must be boolean' }]) } },
            ...AUTHENTICATED_PROBLEMS
          )
        }
      }
    },
    async (request) => {
      // A system decides on active recipients only; the registry's history is for admins and ops.
      if (request.client?.role !== 'system') return { recipients: await listRecipients(fastify.database.db, request.query) }
      if (request.query.active === false) return { recipients: [] }
      return { recipients: await listRecipients(fastify.database.db, { ...request.query, active: true }) }
    }
  )

  fastify.get(
    '/v1/recipients/:id',
    {
      config: { access: { roles: ['admin', 'ops'] } },
      schema: {
        operationId: 'getRecipient',
        summary: 'Get a recipient',
        tags,
        params: RecipientParams,
        response: {
          200: withExamples(RecipientSchema, { bank: { summary: 'The bank', value: RECIPIENT } }, 'The recipient'),
          ...problemsWith({ 400: ID_VALIDATION, 404: NOT_FOUND }, ...AUTHENTICATED_PROBLEMS, 404)
        }
      }
    },
    async (request) => {
      const recipient = await findRecipient(fastify.database.db, request.params.id)
      if (!recipient) throw new NotFoundError('recipient')
      return recipient
    }
  )

  fastify.patch(
    '/v1/recipients/:id',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        operationId: 'updateRecipient',
        summary: 'Change a recipient, e.g. deactivate it with { "active": false }',
        description: 'Past decisions keep the snapshot of the recipient taken when they were recorded.',
        tags,
        params: RecipientParams,
        body: withExamples(
          Type.Object(
            {
              name: Type.Optional(Text(200)),
              address: Type.Optional(Text(500)),
              representative: Type.Optional(Text(200)),
              country: Type.Optional(Country),
              code: Type.Optional(RecipientCode),
              equivalentMeasures: Type.Optional({
                ...Nullable(EquivalentMeasuresSchema),
                description: 'A new periodic check (lastCheckedAt), or null: no equivalent-measures system any more'
              }),
              active: Type.Optional(Type.Boolean({ description: 'false: every later third_party transfer to it is denied (recipient_inactive)' }))
            },
            { additionalProperties: false }
          ),
          {
            deactivate: { summary: 'Deactivate', value: { active: false } },
            representative: { summary: 'A new representative', value: { representative: '理事長 佐藤次郎' } }
          }
        ),
        response: {
          200: withExamples(
            RecipientSchema,
            { deactivate: { summary: 'Deactivated', value: { ...RECIPIENT, active: false, updatedAt: '2026-11-30T01:00:00.000Z' } } },
            'The recipient as changed'
          ),
          ...problemsWith(
            {
              400: {
                ...ID_VALIDATION,
                nothing_to_change: problemExample('An empty body', new InvalidRequestError('nothing_to_change', 'the body names no field to change'))
              },
              404: NOT_FOUND
            },
            ...AUTHENTICATED_PROBLEMS,
            404
          )
        }
      }
    },
    async (request) => {
      if (Object.keys(request.body).length === 0) throw new InvalidRequestError('nothing_to_change', 'the body names no field to change')
      const recipient = await updateRecipient(fastify.database.db, request.params.id, request.body, fastify.now())
      fastify.changes.announce(FACTS_CHANNEL, factKey.recipient(request.params.id))
      if (!recipient) throw new NotFoundError('recipient')
      return recipient
    }
  )
}

export default recipientRoutes
