import { Type, type Static } from 'typebox'
import { INSPECTION_RESULTS, PURPOSES } from '../policy/vocabulary.js'
import { Country, DataItem, DataItems, EquivalentMeasuresSchema, Nullable, Purpose, StringEnum, Text, Timestamp, Uuid } from '../schemas.js'

/** A contractor (業務委託先) as the API shows it and the repository returns it. */
export const ContractorSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  address: Type.String(),
  country: Country,
  equivalentMeasures: Nullable(EquivalentMeasuresSchema),
  createdAt: Timestamp
})
export type Contractor = Static<typeof ContractorSchema>

export const ContractSchema = Type.Object({
  id: Uuid,
  contractorId: Uuid,
  reference: Type.String(),
  signedAt: { ...Timestamp, description: 'When the contract was signed: it binds, and counts for entrustment, from then on' },
  validFrom: Timestamp,
  validUntil: Timestamp,
  purposes: Type.Array(Purpose),
  dataItems: Type.Array(DataItem),
  createdAt: Timestamp
})
export type Contract = Static<typeof ContractSchema>

export const InspectionSchema = Type.Object({
  id: Uuid,
  contractorId: Uuid,
  inspectedAt: Timestamp,
  result: StringEnum(INSPECTION_RESULTS),
  inspector: Type.String(),
  notes: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp
})
export type Inspection = Static<typeof InspectionSchema>

/** A contractor to register: its country is Japan when not given. */
export const NewContractorSchema = Type.Object(
  { name: Text(200), address: Text(500), country: Type.Optional(Country), equivalentMeasures: Type.Optional(EquivalentMeasuresSchema) },
  { additionalProperties: false }
)
export type NewContractor = Static<typeof NewContractorSchema>

/** A contractor's country or its equivalent-measures system (a new periodic check), as changed. */
export const ContractorChangesSchema = Type.Object(
  {
    country: Type.Optional(Country),
    equivalentMeasures: Type.Optional({ ...Nullable(EquivalentMeasuresSchema), description: 'null: the system no longer stands' })
  },
  { additionalProperties: false, minProperties: 1 }
)
export type ContractorChanges = Static<typeof ContractorChangesSchema>

export const NewContractSchema = Type.Object(
  {
    reference: Text(200),
    signedAt: Timestamp,
    validFrom: Timestamp,
    validUntil: Timestamp,
    purposes: Type.Array(Purpose, { minItems: 1, maxItems: PURPOSES.length, uniqueItems: true }),
    dataItems: DataItems
  },
  { additionalProperties: false }
)
export type NewContract = Static<typeof NewContractSchema>

export const NewInspectionSchema = Type.Object(
  {
    inspectedAt: Timestamp,
    result: StringEnum(INSPECTION_RESULTS),
    inspector: Text(200),
    notes: Type.Optional(Type.String({ maxLength: 2000 }))
  },
  { additionalProperties: false }
)
export type NewInspection = Static<typeof NewInspectionSchema>
