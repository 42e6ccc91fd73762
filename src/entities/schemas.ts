import { Type, type Static } from 'typebox'
import { ENTITY_KINDS } from '../policy/vocabulary.js'
import { Bilingual, EntityId, Nullable, StringEnum, Text, Timestamp } from '../schemas.js'

export const EntityKind = StringEnum(ENTITY_KINDS, {
  description:
    'federation: 生活協同組合連合会コープ自然派事業連合; member_coop: a member co-op (会員生協), each a legal person of its own; jccu: 日本生活協同組合連合会'
})

/**
 * The legal persons of the notice: the ones the policy document names (the federation, JCCU),
 * then the member co-ops admins registered. Ids are stable: a named person's is the policy's
 * party id, a member co-op's a UUID given at registration.
 */
export const EntitySchema = Type.Object({
  id: EntityId,
  kind: EntityKind,
  name: Bilingual,
  address: Nullable(Type.String()),
  representative: Nullable(Type.String()),
  corporateNumber: Nullable(Type.String()),
  active: Type.Boolean(),
  source: StringEnum(['policy', 'registry'] as const, {
    description: 'policy: named by the policy document (the federation, JCCU) and not changeable here; registry: registered by an admin'
  }),
  missing: Type.Array(StringEnum(['address', 'representative', 'corporateNumber'] as const), {
    description: 'What neither the notice nor the registration states (null above): nothing is made up'
  }),
  createdAt: Nullable(Timestamp),
  updatedAt: Nullable(Timestamp)
})

/** An entity as the repository returns it: `missing` is worked out when it is shown (missingDetails). */
export type Entity = Omit<Static<typeof EntitySchema>, 'missing'>

/** 法人番号: 13 digits (国税庁). */
const CorporateNumber = Type.String({ pattern: '^[0-9]{13}$', description: '法人番号 (corporate number), 13 digits', examples: ['1234567890123'] })

/** A member co-op to register: what is not known stays absent (null), never invented. */
export const NewMemberCoopSchema = Type.Object(
  {
    kind: StringEnum(['member_coop'] as const),
    name: Type.Object({ ja: Text(200), en: Text(200) }, { additionalProperties: false }),
    address: Type.Optional(Text(500)),
    representative: Type.Optional(Text(200)),
    corporateNumber: Type.Optional(CorporateNumber)
  },
  { additionalProperties: false }
)
/** The repository registers member co-ops only, so it needs no `kind`. */
export type NewMemberCoop = Omit<Static<typeof NewMemberCoopSchema>, 'kind'>
