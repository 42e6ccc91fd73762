import { Type, type Static } from 'typebox'
import { SUSPENSION_SCOPES } from '../policy/vocabulary.js'
import {
  ConsentMethod,
  Country,
  DataItem,
  DataItems,
  EntityId,
  MemberId,
  Nullable,
  RecipientCategory,
  StringEnum,
  Text,
  Timestamp,
  Uuid,
  withIntro
} from '../schemas.js'

/** What the member was told of a recipient or contractor abroad before consenting (PPC rule 17(2)). */
export const ForeignRecipientSchema = Type.Object(
  {
    country: Country,
    system: { ...Text(2000), description: "What the member was told of that country's personal-information protection system" },
    measures: { ...Text(2000), description: 'What the member was told of the measures the recipient takes to protect the data' }
  },
  {
    additionalProperties: false,
    description:
      'The foreign-recipient information the consent was given with (APPI Art. 28(2), PPC rule 17(2)). With it, the consent permits provision to a recipient in that country, or entrustment to a contractor there (contractorId).'
  }
)

/**
 * A member's consent as it is stored and as the repository returns it. The API shows it with
 * more: its status, and on a grant or a withdrawal the ledger entry (src/decisions/member-routes.ts).
 */
export const ConsentSchema = Type.Object({
  id: Uuid,
  memberId: MemberId,
  providerId: { ...EntityId, description: 'The legal person the member consented to provide: the consent permits that provider only' },
  recipientCategory: Nullable(RecipientCategory),
  recipientId: Type.Union([Uuid, Type.Null()]),
  contractorId: { ...Nullable(Uuid), description: 'A consent to entrustment to this contractor abroad (APPI Art. 28); then recipientCategory is null' },
  foreignRecipient: Nullable(ForeignRecipientSchema),
  dataItems: Type.Union([Type.Array(DataItem), Type.Null()], { description: 'null: every necessary item of the category' }),
  obtainedAt: Timestamp,
  method: ConsentMethod,
  evidenceRef: Type.String(),
  withdrawnAt: Type.Union([Timestamp, Type.Null()]),
  withdrawalReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  policyVersion: Type.String({
    description:
      "The policy version in force when the member gave the consent (obtainedAt); without dataItems the consent covers that version's necessary items, not a later one's"
  })
})
export type Consent = Static<typeof ConsentSchema>

/** A consent to record: to a §II category (or one recipient of it), or to entrustment to a contractor abroad. */
export const NewConsentSchema = Type.Object(
  {
    providerId: Type.Optional({
      ...EntityId,
      description: 'The provider the member consented to (admin only; others record for their own provider). Default: the client’s provider.'
    }),
    recipientCategory: Type.Optional(withIntro(RecipientCategory, 'Required unless contractorId is given.')),
    recipientId: Type.Optional(withIntro(Uuid, 'A registered recipient of the category: the consent is to it alone.')),
    contractorId: Type.Optional(
      withIntro(
        Uuid,
        'Instead of a recipient category: a consent to entrustment to this contractor abroad (APPI Art. 28); needs foreignRecipient for its country.'
      )
    ),
    foreignRecipient: Type.Optional(ForeignRecipientSchema),
    dataItems: Type.Optional(DataItems),
    obtainedAt: Timestamp,
    method: ConsentMethod,
    evidenceRef: Text(500)
  },
  { additionalProperties: false }
)
export type NewConsent = Static<typeof NewConsentSchema>

export const SuspensionScopeSchema = StringEnum(SUSPENSION_SCOPES, {
  description: 'provision: every third_party transfer is denied (provision_suspended); use: every channel but statutory_exception is denied (use_suspended)'
})

/** A member's stop of provision or use (APPI Art. 35), as stored; the API adds the ledger entry on a request or a lift. */
export const SuspensionSchema = Type.Object({
  id: Uuid,
  memberId: MemberId,
  providerId: { ...EntityId, description: 'The legal person the member asked; the stop applies to every provider' },
  reason: Type.String(),
  requestedAt: Timestamp,
  liftedAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  scope: SuspensionScopeSchema
})
export type Suspension = Static<typeof SuspensionSchema>
