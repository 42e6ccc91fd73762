import { Type, type Static } from 'typebox'
import { Country, EquivalentMeasuresSchema, Nullable, RecipientCategory, Text, Timestamp, Uuid } from '../schemas.js'

/** A §II recipient as the API shows it and the repository returns it. */
export const RecipientSchema = Type.Object({
  id: Uuid,
  category: RecipientCategory,
  name: Type.String(),
  address: Type.String(),
  representative: Type.String(),
  country: Country,
  active: Type.Boolean(),
  equivalentMeasures: Nullable(EquivalentMeasuresSchema),
  code: Nullable(Type.String({ description: "The recipient's own code, e.g. a bank's 金融機関コード" })),
  createdAt: Timestamp,
  updatedAt: Timestamp
})
export type Recipient = Static<typeof RecipientSchema>

/** A code the calling systems know the recipient by, such as a bank's 4-digit 金融機関コード. */
export const RecipientCode = Type.String({
  minLength: 1,
  maxLength: 32,
  pattern: '^[0-9A-Za-z_-]+$',
  description: "The recipient's own code, e.g. a bank's 金融機関コード",
  examples: ['0001']
})

/** A recipient to register: its country is Japan when not given. */
export const NewRecipientSchema = Type.Object(
  {
    category: RecipientCategory,
    name: Text(200),
    address: Text(500),
    representative: Text(200),
    country: Type.Optional(Country),
    equivalentMeasures: Type.Optional(EquivalentMeasuresSchema),
    code: Type.Optional(RecipientCode)
  },
  { additionalProperties: false }
)
export type NewRecipient = Static<typeof NewRecipientSchema>

/** Which recipients to list; every field narrows the list. */
export const RecipientFilterSchema = Type.Object(
  {
    category: Type.Optional(RecipientCategory),
    active: Type.Optional(Type.Boolean({ description: 'true: only active recipients; false: only deactivated ones', examples: [true] })),
    name: Type.Optional({ ...Text(200), description: 'Part of the name, in any letter case' }),
    code: Type.Optional(RecipientCode)
  },
  { additionalProperties: false }
)
export type RecipientFilter = Static<typeof RecipientFilterSchema>
