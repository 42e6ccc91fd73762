import type { Channel, DataItem, EntityKind, ExceptionBasis, Method, Purpose, RecipientCategory, ServiceCategory } from './vocabulary.js'

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
  /**
   * The condition the notice states beyond the clause itself, e.g. for 2(5)b that the person's
   * consent is hard to obtain (APPI Art. 27(1)(ii)). Absent where the notice states none: the
   * engine applies the law's condition anyway, and the lint reports the notice's silence.
   */
  readonly condition?: Bilingual
}

/**
 * A party the notice names. Address and representative are optional because the first notice
 * gives neither; a later version that states them clears the lint's warning (APPI Art. 27(5)(iii)).
 */
export interface Party {
  readonly id: string
  readonly name: Bilingual
  readonly role: 'responsible_for_management' | 'joint_user'
  /**
   * The kind of legal person. A party of a kind that has several persons (member_coop) stands for
   * every registered person of that kind. Absent in the first two versions, which named JCCU alone
   * as joint user by its id.
   */
  readonly kind?: EntityKind
  readonly address?: Bilingual
  /** For a corporation, its representative (代表者), as Art. 27(5)(iii) and Art. 30(1) ask. */
  readonly representative?: Bilingual
  /** Where the party stands for several bodies (会員生協), each of them by name. */
  readonly members?: Bilingual[]
}

export interface JointUse {
  readonly clause: string
  /** The ids of the parties that use jointly; a party with a `kind` brings every person of that kind. */
  readonly jointUsers: string[]
  /** The notice shares every collected item, so the catalogue as a whole applies. */
  readonly items: 'all'
  readonly purposes: Purpose[]
  /** The joint users' own purposes of use (JCCU's), as the notice states them. */
  readonly jointUserPurposes?: Bilingual
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
  /** What the notice says of provision to third parties abroad (APPI Art. 28); absent: nothing. */
  readonly provisionAbroad?: Bilingual
  /**
   * Known gaps as the first version wrote them by hand. Superseded by the lint (lint.ts), which
   * computes them from the document; kept because a published version is never edited.
   */
  readonly gaps?: Bilingual[]
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
