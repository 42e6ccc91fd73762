import { Type, type Static } from 'typebox'
import { Country, EquivalentMeasuresSchema, Nullable, RecipientCategory, Timestamp, Uuid } from '../schemas.js'

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
