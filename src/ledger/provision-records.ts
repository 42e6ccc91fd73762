import { sql } from 'kysely'
import { Type, type Static } from 'typebox'
import type { Queryable } from '../db/database.js'
import type { Bilingual, PolicyDocument } from '../policy/document.js'
import { FEDERATION } from '../policy/parties.js'
import { REASONS } from '../policy/reasons.js'
import { policyInForce, policyVersion } from '../policy/registry.js'
import { CONSENT_METHOD_LABELS, type Channel, type ConsentMethod, type ExceptionBasis } from '../policy/vocabulary.js'
import { Bilingual as BilingualSchema, EntityId, MemberId, Nullable, StringEnum, Timestamp, Uuid } from '../schemas.js'

export type RecordLanguage = 'ja' | 'en'
/** third_party: the records APPI Art. 29 requires; all: with the statutory exceptions kept by choice. */
export type RecordSelection = 'third_party' | 'all'

/**
 * One provision as a member reads it (APPI Art. 33(5)) and a regulator checks it (Art. 29,
 * enforcement rule 20): dates in Japan time with the ledger's instant beside them, labels in the
 * member's language next to the codes, and whether the law requires the record.
 */
export type ProvisionRecord = Static<typeof ProvisionRecordSchema>

const JST_OFFSET_MS = 9 * 3_600_000

/** An instant as Japan time, in RFC 3339 with its +09:00 offset (Japan keeps no daylight saving time). */
export function japanTime(instant: string | Date): string {
  const shifted = new Date(new Date(instant).getTime() + JST_OFFSET_MS)
  return shifted.toISOString().replace('Z', '+09:00')
}

function retentionYears(policy: PolicyDocument): number {
  const years = /^P(\d+)Y$/.exec(policy.provisionRecordRetention)?.[1]
  // A retention written in another unit is not one this code can count; three years is rule 21's longest.
  return years === undefined ? 3 : Number(years)
}

/**
 * The end of the Japan-time day `years` after `instant`. A member reads a date, not an instant:
 * a record kept through the whole of its last day is never dropped a few hours early.
 */
export function retainUntil(instant: string, years: number): string {
  const local = new Date(new Date(instant).getTime() + JST_OFFSET_MS)
  const lastDay = Date.UTC(local.getUTCFullYear() + years, local.getUTCMonth(), local.getUTCDate())
  return japanTime(new Date(lastDay + 86_400_000 - 1 - JST_OFFSET_MS))
}

const RECORD_BASIS: Record<'required' | 'by_choice', Bilingual> = {
  required: {
    ja: '個人情報保護法第29条により作成・保存が義務付けられた記録',
    en: 'A record APPI Art. 29 requires'
  },
  by_choice: {
    ja: '第27条第1項に基づく提供のため第29条の記録義務はありませんが、生協が任意に保存している記録',
    en: 'Not required by APPI Art. 29 (provision under Art. 27(1)); kept by the co-op by choice'
  }
}

/** A §II category's own name: the notice writes each as "name: purpose". */
function categoryName(text: string): string {
  return text.split(/[:：]/)[0]!.trim()
}

interface Labels {
  category: (id: string) => string
  purpose: (id: string) => string
  serviceCategory: (id: string) => string
  item: (id: string) => string
  method: (id: string) => string
  exception: (id: string) => string
}

function labelsOf(policy: PolicyDocument, language: RecordLanguage): Labels {
  const find = (list: readonly (Bilingual & { id: string })[], id: string) => list.find((x) => x.id === id)?.[language] ?? id
  return {
    category: (id) => {
      const entry = policy.recipientCategories.find((c) => c.id === id)
      return entry ? categoryName(entry[language]) : id
    },
    purpose: (id) => find(policy.purposes, id),
    serviceCategory: (id) => find(policy.serviceCategories, id),
    item: (id) => find(policy.dataItems, id),
    method: (id) => find(policy.methods, id),
    exception: (id) => policy.exceptions.find((e) => e.basis === id)?.[language] ?? id
  }
}

/**
 * What the ledger keeps of an allowed decision (src/decisions/acts.ts, decisionBody), with the
 * entry's id, member and time: the fields a record is made of. Older entries may lack the
 * optional ones.
 */
interface DecisionContent {
  readonly id: string
  readonly memberId: string
  readonly recordedAt: string
  readonly action: string
  readonly channel: Extract<Channel, 'third_party' | 'statutory_exception' | 'entrustment'>
  readonly providerId?: string
  readonly provider?: { readonly id: string; readonly name: Bilingual } | null
  readonly contractor?: { readonly id: string; readonly name: string; readonly address: string; readonly country?: string | null } | null
  readonly policyVersion: string
  readonly purpose: string
  readonly serviceCategory?: string | null
  readonly dataItems: string[]
  readonly method?: string | null
  readonly recipient?: {
    readonly id: string
    readonly name: string
    readonly address: string
    readonly representative: string
    readonly category: string
    readonly country?: string | null
  } | null
  readonly consent?: { readonly id: string; readonly obtainedAt: string; readonly method: string; readonly evidenceRef: string } | null
  readonly exception?: { readonly basis: ExceptionBasis; readonly reference: string; readonly approvedBy: string } | null
}

function toRecord(content: DecisionContent, language: RecordLanguage): ProvisionRecord {
  // The labels of the version that decided, so a record reads as it did when it was made.
  const policy = policyVersion(content.policyVersion) ?? policyInForce(new Date(content.recordedAt))
  const label = labelsOf(policy, language)
  // Entrustment is recorded only when abroad (Art. 28), and then the law asks for the record too.
  const required = content.channel !== 'statutory_exception'
  const recipient = content.recipient
  const contractor = content.contractor
  const consent = content.consent
  const exception = content.exception
  return {
    entryId: content.id,
    memberId: content.memberId,
    providedAt: japanTime(content.recordedAt),
    recordedAt: content.recordedAt,
    channel: content.channel,
    // An entry made before providers were told apart was the federation's.
    provider: content.provider ? { id: content.provider.id, name: content.provider.name } : { id: content.providerId ?? FEDERATION.id, name: FEDERATION.name },
    contractor: contractor ? { id: contractor.id, name: contractor.name, address: contractor.address, country: contractor.country ?? null } : null,
    recipient: recipient
      ? {
          id: recipient.id,
          name: recipient.name,
          address: recipient.address,
          representative: recipient.representative,
          category: recipient.category,
          categoryLabel: label.category(recipient.category),
          country: recipient.country ?? null
        }
      : null,
    purpose: content.purpose,
    purposeLabel: label.purpose(content.purpose),
    serviceCategory: content.serviceCategory ?? null,
    serviceCategoryLabel: content.serviceCategory ? label.serviceCategory(content.serviceCategory) : null,
    dataItems: content.dataItems,
    dataItemLabels: content.dataItems.map(label.item),
    method: content.method ?? null,
    methodLabel: content.method ? label.method(content.method) : null,
    consent: consent
      ? {
          id: consent.id,
          obtainedAt: japanTime(consent.obtainedAt),
          method: consent.method,
          methodLabel: CONSENT_METHOD_LABELS[consent.method as ConsentMethod]?.[language] ?? consent.method,
          evidenceRef: consent.evidenceRef
        }
      : null,
    exception: exception
      ? {
          basis: exception.basis,
          basisLabel: label.exception(exception.basis),
          reference: exception.reference,
          approvedBy: exception.approvedBy,
          clause: REASONS[exception.basis].clause,
          law: REASONS[exception.basis].law
        }
      : null,
    policyVersion: content.policyVersion,
    requiredByLaw: required,
    recordBasis: RECORD_BASIS[required ? 'required' : 'by_choice'][language],
    retainUntil: retainUntil(content.recordedAt, retentionYears(policy))
  }
}

/**
 * The member's allowed provisions, newest first, read from the ledger alone: the snapshots
 * there say who the recipient was at the time, whatever the registry says now. Statutory
 * exceptions are listed only when asked for (`include: 'all'`): Art. 33(5) lets the co-op
 * withhold records whose disclosure would hinder a crime investigation, which is a judgement
 * for a person to make before handing them over.
 */
export async function listProvisionRecords(
  db: Queryable,
  memberId: string,
  options: {
    readonly language?: RecordLanguage
    readonly include?: RecordSelection
    /** Whose records: one provider's, or every provider's (`null`). */
    readonly providerId?: string | null
  } = {}
): Promise<ProvisionRecord[]> {
  const channels = options.include === 'all' ? ['third_party', 'statutory_exception'] : ['third_party']
  const providerId = options.providerId ?? null
  // What a record never shows is left in PostgreSQL: the service parses half of each entry, and
  // what a request allocates is what its garbage collections, the tail of its latency, cost. An
  // entrustment's record is of its contractor, so that one keeps it.
  const unshown = (members: readonly string[]) => sql.lit(`{${members.join(',')}}`)
  const rows = await db
    .selectFrom('ledger_entries')
    .select(
      sql<DecisionContent>`CASE WHEN channel = 'entrustment' THEN content - ${unshown(UNSHOWN_MEMBERS.filter((m) => m !== 'contractor'))}::text[]
        ELSE content - ${unshown(UNSHOWN_MEMBERS)}::text[] END`.as('content')
    )
    .where('member_id', '=', memberId)
    .where('kind', '=', 'decision')
    .where((eb) =>
      eb.or([
        eb('channel', 'in', channels),
        // An entrustment abroad is a provision abroad (Art. 28): its allow obliges the record.
        eb.and([eb('channel', '=', 'entrustment'), eb(sql`content->'obligations'`, '@>', sql`'[{"code":"keep_provision_record"}]'::jsonb`)])
      ])
    )
    .where('decision', '=', 'allow')
    .$if(providerId !== null, (query) => query.where(sql`coalesce(content->>'providerId', ${FEDERATION.id})`, '=', providerId))
    .orderBy('position', 'desc')
    .execute()
  return (
    rows
      // The query selects allowed decisions of these channels: the content is a decision's.
      .map((row) => row.content)
      .filter((content) => content.action === 'transfer')
      .map((content) => toRecord(content, options.language ?? 'ja'))
  )
}

/** The biggest members of a decision's content, which its provision record does not show. */
const UNSHOWN_MEMBERS = ['providerDetails', 'reasons', 'obligations', 'prevHash', 'contractor']

// ---------------------------------------------------------------------------------------------
// HTTP schemas of GET /v1/members/{memberId}/provision-records (registered in ledger/routes.ts)

export const ProvisionRecordsQuery = Type.Object(
  {
    format: Type.Optional(StringEnum(['json', 'csv'])),
    lang: Type.Optional(StringEnum(['ja', 'en'], { description: 'Language of the labels (and of the CSV values); Japanese by default' })),
    providerId: Type.Optional({
      ...EntityId,
      description:
        "Whose records (GET /v1/entities): each provider keeps its own (Art. 29) and answers its own members (Art. 33(5)). Default: the calling client's own provider; `all`: every provider's."
    }),
    include: Type.Optional(
      StringEnum(['third_party', 'all'], {
        description:
          'third_party (default): the records APPI Art. 29 requires. all: also the statutory exceptions, which the co-op keeps by choice ' +
          '(check Art. 33(5) before handing those to the member)'
      })
    )
  },
  { additionalProperties: false }
)

export const ProvisionRecordSchema = Type.Object({
  entryId: Uuid,
  memberId: MemberId,
  providedAt: { ...Timestamp, description: 'In Japan time (+09:00)' },
  recordedAt: { ...Timestamp, description: 'The same instant as the ledger entry keeps it (UTC)' },
  channel: StringEnum(['third_party', 'statutory_exception', 'entrustment'], {
    description: 'entrustment: to a contractor abroad, which APPI Art. 28 treats as a provision abroad and Art. 29 asks to record'
  }),
  provider: Type.Object({ id: EntityId, name: BilingualSchema }, { description: 'The legal person that provided' }),
  contractor: Nullable(
    Type.Object(
      { id: Uuid, name: Type.String(), address: Type.String(), country: Nullable(Type.String()) },
      { description: 'An entrustment abroad: the contractor' }
    )
  ),
  recipient: Nullable(
    Type.Object({
      id: Uuid,
      name: Type.String(),
      address: Type.String(),
      representative: Type.String(),
      category: Type.String(),
      categoryLabel: Type.String(),
      country: Nullable(Type.String({ description: 'ISO 3166-1 alpha-2; null for records older than the field' }))
    })
  ),
  purpose: Type.String(),
  purposeLabel: Type.String(),
  serviceCategory: Nullable(Type.String()),
  serviceCategoryLabel: Nullable(Type.String()),
  dataItems: Type.Array(Type.String()),
  dataItemLabels: Type.Array(Type.String()),
  method: Nullable(Type.String()),
  methodLabel: Nullable(Type.String()),
  consent: Nullable(
    Type.Object({
      id: Uuid,
      obtainedAt: { ...Timestamp, description: 'In Japan time (+09:00)' },
      method: Type.String(),
      methodLabel: Type.String(),
      evidenceRef: Type.String()
    })
  ),
  exception: Nullable(
    Type.Object({
      basis: Type.String(),
      basisLabel: Type.String(),
      reference: Type.String(),
      approvedBy: Type.String(),
      clause: Type.String(),
      law: Type.String()
    })
  ),
  policyVersion: Type.String(),
  requiredByLaw: Type.Boolean({ description: 'true: APPI Art. 29 requires the record; false: kept by choice' }),
  recordBasis: Type.String(),
  retainUntil: { ...Timestamp, description: 'The end of the Japan-time day until which the record is kept (enforcement rule 21)' }
})

export const ProvisionRecordsResponse = Type.Object({ memberId: MemberId, records: Type.Array(ProvisionRecordSchema) })
