import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError, InvalidRequestError } from '../errors.js'
import { AUTHENTICATED_PROBLEMS, RecipientCategory, Text, Timestamp, Uuid, problems } from '../schemas.js'
import { HOME_COUNTRY } from '../policy/vocabulary.js'
import { findRecipient, insertRecipient, listRecipients, updateRecipient } from './repository.js'

/** Where the recipient is: a third party outside Japan is denied (APPI Art. 28). */
export const Country = Type.String({
  pattern: '^[A-Z]{2}$',
  minLength: 2,
  maxLength: 2,
  description: `ISO 3166-1 alpha-2 country code, upper case; ${HOME_COUNTRY} when not given. A third_party provision to a recipient outside ${HOME_COUNTRY} is denied (recipient_abroad, APPI Art. 28).`,
  examples: [HOME_COUNTRY]
})

export const RecipientSchema = Type.Object(
  {
    id: Uuid,
    category: RecipientCategory,
    name: Type.String(),
    address: Type.String(),
    representative: Type.String(),
    country: Country,
    active: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp
  },

)

const RecipientParams = Type.Object({ id: Uuid })
const tags = ['Registries']

const recipientRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/v1/recipients',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        operationId: 'createRecipient',
        summary: 'Register a §II recipient',
        tags,
        body: Type.Object(
          { category: RecipientCategory, name: Text(200), address: Text(500), representative: Text(200), country: Type.Optional(Country) },
          { additionalProperties: false }
        ),
        response: { 201: RecipientSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
      }
    },
    async (request, reply) => {
      const recipient = await insertRecipient(fastify.database.db, request.body, fastify.now())
      return reply.code(201).header('location', `/v1/recipients/${recipient.id}`).send(recipient)
    }
  )

  fastify.get(
    '/v1/recipients',
    {
      config: { access: { roles: ['admin', 'ops'] } },
      schema: {
        operationId: 'listRecipients',
        summary: 'List registered recipients',
        tags,
        querystring: Type.Object(
          { category: Type.Optional(RecipientCategory), active: Type.Optional(Type.Boolean()) },
          { additionalProperties: false }
        ),
        response: { 200: Type.Object({ recipients: Type.Array(RecipientSchema) }), ...problems(...AUTHENTICATED_PROBLEMS) }
      }
    },
    async (request) => ({ recipients: await listRecipients(fastify.database.db, request.query) })
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
        response: { 200: RecipientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
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
        body: Type.Object(
          {
            name: Type.Optional(Text(200)),
            address: Type.Optional(Text(500)),
            representative: Type.Optional(Text(200)),
            country: Type.Optional(Country),
            active: Type.Optional(Type.Boolean())
          },
          { additionalProperties: false }
        ),
        response: { 200: RecipientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
      }
    },
    async (request) => {
      if (Object.keys(request.body).length === 0) throw new InvalidRequestError('nothing_to_change', 'the body names no field to change')
      const recipient = await updateRecipient(fastify.database.db, request.params.id, request.body, fastify.now())
      if (!recipient) throw new NotFoundError('recipient')
      return recipient
    }
  )
}

export default recipientRoutes
