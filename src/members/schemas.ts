import { Type, type Static } from 'typebox'
import { EntryRefSchema } from '../ledger/entry-ref.js'
import { SUSPENSION_SCOPES } from '../policy/vocabulary.js'
import {
  Bilingual,
  ConsentMethod,
  Country,
  DataItem,
  DataItems,
  EntityId,
  MemberId,
  Nullable,
  Purpose,
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

/**
 * A consent receipt the member can keep, after ISO/IEC TS 27560 (consent records and receipts)
 * and the Kantara Consent Receipt: who the controller is, whose consent, to what purposes,
 * which data and which recipients, how it was given, under which version of the notice, and
 * the ledger entry that recorded it (members/receipt.ts builds it). The entry's id and hash let
 * the member (or anyone they show it to) check later that the ledger still holds the same grant.
 */
export const ConsentReceiptSchema = Type.Object(
  {
    receiptId: Uuid,
    specification: Type.String(),
    issuedAt: { ...Timestamp, description: 'When the grant was recorded: the recordedAt of its ledger entry' },
    jurisdiction: Type.String({ description: 'ISO 3166-1 alpha-2' }),
    controller: Type.Object({
      id: { ...EntityId, description: 'The legal person the member consented to (GET /v1/entities)' },
      name: Nullable(Bilingual),
      address: Nullable(Bilingual),
      representative: Nullable(Bilingual),
      missing: Type.Array(Type.String(), { description: 'What the notice does not state yet (null above); GET /v1/policy warns of it' })
    }),
    memberId: MemberId,
    consentId: Uuid,
    obtainedAt: Timestamp,
    method: ConsentMethod,
    methodLabel: Bilingual,
    evidenceRef: Type.String(),
    legalBasis: Type.Object({ clause: Type.String(), law: Type.String() }),
    purposes: Type.Array(Type.Object({ id: Purpose, clause: Type.String(), ja: Type.String(), en: Type.String() })),
    itemsListed: Type.Boolean({ description: "false: the consent covers the category's necessary items of policy.version" }),
    dataCategories: Type.Array(Type.Object({ id: DataItem, ja: Type.String(), en: Type.String(), sensitive: Type.Boolean() })),
    recipient: Type.Object({
      category: Nullable(RecipientCategory),
      contractorId: Nullable(Uuid),
      clause: Type.String(),
      ja: Type.String(),
      en: Type.String(),
      id: Nullable(Uuid),
      name: Nullable(Type.String()),
      country: Nullable(Type.String())
    }),
    provisionMethods: Type.Array(Type.Object({ id: Type.String(), ja: Type.String(), en: Type.String() })),
    policy: Type.Object({ version: Type.String(), effectiveFrom: Type.String(), title: Bilingual }),
    ledgerEntry: EntryRefSchema,
    howToVerify: Bilingual
  },
  {
    description:
      'A consent receipt the member can keep (after ISO/IEC TS 27560 and the Kantara Consent Receipt): controller, member, purposes, data ' +
      'categories, recipient category or recipient, method, policy version, and the ledger entry with its hash, to check against the ledger later.'
  }
)
export type ConsentReceipt = Static<typeof ConsentReceiptSchema>

/** A transfer recorded on a consent: what a backdated withdrawal lists among those made after it. */
export const TransferOnConsentSchema = Type.Object({
  entryId: Uuid,
  recordedAt: Timestamp,
  hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  recipientId: Nullable(Uuid),
  purpose: Purpose,
  dataItems: Type.Array(DataItem)
})
export type TransferOnConsent = Static<typeof TransferOnConsentSchema>
