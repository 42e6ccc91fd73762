import { Type, type Static } from 'typebox'
import { ROLES } from '../policy/vocabulary.js'
import { Channel, Purpose, StringEnum, Timestamp } from '../schemas.js'

/** A calling system or person as the API shows it; its token is kept only as a hash, never shown. */
export const ClientSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: StringEnum(ROLES),
  entityId: Type.String({
    description: 'The legal person whose system this is (GET /v1/entities): the provider of every decision, consent and suspension it records'
  }),
  channels: Type.Union([Type.Array(Channel), Type.Null()]),
  purposes: Type.Union([Type.Array(Purpose), Type.Null()]),
  rateLimit: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'Requests per minute; null: not throttled' }),
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
  expiresAt: Type.Union([Timestamp, Type.Null()], { description: 'From this time on the token is refused (401); null: it does not expire' })
})
export type Client = Static<typeof ClientSchema>
