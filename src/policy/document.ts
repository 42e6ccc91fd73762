import type {
  Channel,
  DataItem,
  ExceptionBasis,
  Method,
  Purpose,
  RecipientCategory,
  ServiceCategory
} from './vocabulary.js'

/** Text in both languages: `ja` quotes the published notice, `en` is the working rendering. */
export interface Bilingual {
  readonly ja: string
  readonly en: string
}

export interface Clause extends Bilingual {
  readonly id: string
}

export interface PurposeEntry extends Bilingual {
  readonly id: Purpose
  readonly clause: string
}

export interface ServiceCategoryEntry extends Bilingual {
  readonly id: ServiceCategory
  readonly clause: string
}

export interface RecipientCategoryEntry extends Bilingual {
  readonly id: RecipientCategory
  readonly clause: string
  readonly purposes: Purpose[]
  /** `null` where the notice does not tie the category to one kind of goods or service. */
  readonly serviceCategories: ServiceCategory[] | null
  readonly necessaryItems: DataItem[]
}

export interface DataItemEntry extends Bilingual {
  readonly id: DataItem
  /** 要配慮個人情報 (APPI Art. 2(3)): never leaves through third-party provision. */
  readonly sensitive: boolean
}

export interface ExceptionEntry extends Bilingual {
  readonly basis: ExceptionBasis
  readonly clause: string
  readonly law: string
}

export interface Party {
  readonly id: string
  readonly name: Bilingual
  readonly role: 'responsible_for_management' | 'joint_user'
}

export interface JointUse {
  readonly clause: string
  readonly jointUsers: string[]
  /** The notice shares every collected item, so the catalogue as a whole applies. */
  readonly items: 'all'
  readonly purposes: Purpose[]
}

export interface PolicyDocument {
  readonly version: string
  /** When this version came into force (RFC 3339). */
  readonly effectiveFrom: string
  readonly title: Bilingual
  readonly parties: Party[]
  readonly clauses: Clause[]
  readonly purposes: PurposeEntry[]
  readonly serviceCategories: ServiceCategoryEntry[]
  readonly recipientCategories: RecipientCategoryEntry[]
  readonly methods: (Bilingual & { readonly id: Method })[]
  readonly dataItems: DataItemEntry[]
  readonly exceptions: ExceptionEntry[]
  readonly jointUse: JointUse
  readonly channels: (Bilingual & { readonly id: Channel; readonly clauses: string[] })[]
  readonly contractorInspectionIntervalDays: number
  /** ISO 8601 duration for which a provision record is kept (APPI enforcement rule 21). */
  readonly provisionRecordRetention: string
  /** Known gaps between the notice and the law, reported rather than papered over. */
  readonly gaps: Bilingual[]
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
