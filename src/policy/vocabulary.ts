/**
 * The closed vocabularies of the HTTP contract. The policy document gives each value its
 * clause and texts; these tuples exist so that schemas and types share one source.
 */
export const CHANNELS = ['joint_use', 'entrustment', 'third_party', 'statutory_exception'] as const
export type Channel = (typeof CHANNELS)[number]

export const PURPOSES = [
  'membership_invitation',
  'product_information',
  'ordering',
  'delivery',
  'brokerage',
  'billing',
  'after_sales',
  'urgent_contact',
  'survey',
  'welfare_procedures',
  'capital_contribution',
  'membership_records',
  'member_activities',
  'governance'
] as const
export type Purpose = (typeof PURPOSES)[number]

export const SERVICE_CATEGORIES = ['joint_purchasing', 'mutual_aid_insurance', 'housing', 'travel', 'welfare', 'other_living'] as const
export type ServiceCategory = (typeof SERVICE_CATEGORIES)[number]

export const RECIPIENT_CATEGORIES = ['insurer', 'travel_provider', 'financial_institution', 'credit_company', 'member_activity'] as const
export type RecipientCategory = (typeof RECIPIENT_CATEGORIES)[number]

export const METHODS = ['document', 'electronic'] as const
export type Method = (typeof METHODS)[number]

export const EXCEPTION_BASES = ['legal_obligation', 'vital_interest'] as const
export type ExceptionBasis = (typeof EXCEPTION_BASES)[number]

export const CONSENT_METHODS = ['paper', 'web', 'oral'] as const
export type ConsentMethod = (typeof CONSENT_METHODS)[number]

/** How a consent was obtained, as a member reads it; the notice itself names no such methods. */
export const CONSENT_METHOD_LABELS: Readonly<Record<ConsentMethod, { readonly ja: string; readonly en: string }>> = Object.freeze({
  paper: { ja: '書面', en: 'On paper' },
  web: { ja: 'ウェブ', en: 'On the web' },
  oral: { ja: '口頭', en: 'Orally' }
})

export const DATA_ITEMS = [
  'name',
  'name_kana',
  'address',
  'phone',
  'email',
  'member_number',
  'date_of_birth',
  'household',
  'bank_account',
  'credit_card',
  'billing_amount',
  'order_history',
  'capital_contribution',
  'insurance_application',
  'travel_booking',
  'activity_participation',
  'health_care'
] as const
export type DataItem = (typeof DATA_ITEMS)[number]

/** What a member's request to stop covers (APPI Art. 35): third-party provision, or every use. */
export const SUSPENSION_SCOPES = ['provision', 'use'] as const
export type SuspensionScope = (typeof SUSPENSION_SCOPES)[number]

/** ISO 3166-1 alpha-2 of the country the notice and the co-op are in. */
export const HOME_COUNTRY = 'JP'

export const INSPECTION_RESULTS = ['passed', 'failed'] as const
export type InspectionResult = (typeof INSPECTION_RESULTS)[number]

export const ROLES = ['admin', 'ops', 'system'] as const
export type Role = (typeof ROLES)[number]

/**
 * The kinds of legal person the notice is issued by or shares with (2(2)): the federation, each of
 * its member co-ops (each a legal person of its own, 消費生活協同組合法 Art. 4) and JCCU.
 */
export const ENTITY_KINDS = ['federation', 'member_coop', 'jccu'] as const
export type EntityKind = (typeof ENTITY_KINDS)[number]
