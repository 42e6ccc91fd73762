import type { Bilingual } from './document.js'
import { POLICY_WARNING_CODES, policyWarningText, type PolicyWarningCode } from './lint.js'

interface ReasonDefinition {
  readonly clause: string
  readonly law?: string
  readonly message: Bilingual
}

/**
 * Every reason the engine can give, with the notice clause it rests on. Codes are a closed,
 * stable vocabulary: calling systems branch on them, so a code is never renamed or reused.
 */
export const REASONS = {
  joint_use_announced: {
    clause: '2(2)',
    law: 'APPI Art. 27(5)(iii)',
    message: {
      en: 'Joint use of every item among the federation, the member co-ops and JCCU, for a purpose of §I, as announced in the notice.',
      ja: '通知された共同利用(コープ自然派事業連合、会員生協及び日本生活協同組合連合会の間、全項目、Ⅰの利用目的)に該当します。'
    }
  },
  purpose_not_in_notice: {
    clause: '2(1)',
    message: {
      en: 'This purpose is not among the purposes of use the notice announces in §I.',
      ja: 'この利用目的はⅠに記載された利用目的ではありません。'
    }
  },
  joint_user_unknown: {
    clause: '2(2)',
    message: {
      en: 'This party is not a joint user. The joint users of 2(2) are the federation, the member co-ops registered and active in GET /v1/entities, and JCCU (jointUser: "JCCU" or an entity id).',
      ja: 'この相手先は共同利用者ではありません。2(2)の共同利用者は、コープ自然派事業連合、登録済みで有効な会員生協(GET /v1/entities)及び日本生活協同組合連合会です(jointUser には "JCCU" またはエンティティの id を指定します)。'
    }
  },
  contract_in_force: {
    clause: '2(4)',
    law: 'APPI Art. 25',
    message: {
      en: 'A contract in force covers this purpose and these items.',
      ja: '利用目的と項目を含む有効な委託契約が締結されています。'
    }
  },
  inspection_current: {
    clause: '2(4)',
    law: 'APPI Art. 25',
    message: {
      en: "The contractor's latest inspection passed and is within the inspection interval.",
      ja: '委託先の直近の実施状況の点検は合格で、点検間隔内です。'
    }
  },
  contractor_unknown: {
    clause: '2(3)',
    message: {
      en: 'No registered contractor has this id; processing may be entrusted only under the co-op’s management.',
      ja: '登録された委託先ではありません。委託は事業連合または会員生協の管理の下でのみ行えます。'
    }
  },
  contract_missing: {
    clause: '2(4)',
    law: 'APPI Art. 25',
    message: {
      en: 'No contract with this contractor is in force at this time.',
      ja: 'この委託先との有効な委託契約がありません。'
    }
  },
  contract_purpose_not_covered: {
    clause: '2(4)',
    law: 'APPI Art. 25',
    message: {
      en: 'No contract in force covers this purpose.',
      ja: 'この利用目的を含む有効な委託契約がありません。'
    }
  },
  contract_items_not_covered: {
    clause: '2(4)',
    law: 'APPI Art. 25',
    message: {
      en: 'No contract in force covers all of these items.',
      ja: 'これらの項目をすべて含む有効な委託契約がありません。'
    }
  },
  inspection_missing: {
    clause: '2(4)',
    law: 'APPI Art. 25',
    message: {
      en: "The contractor's handling has never been inspected.",
      ja: '委託先の実施状況の点検が行われていません。'
    }
  },
  inspection_failed: {
    clause: '2(4)',
    law: 'APPI Art. 25',
    message: {
      en: "The contractor's latest inspection did not pass.",
      ja: '委託先の直近の点検が不合格です。'
    }
  },
  inspection_overdue: {
    clause: '2(4)',
    law: 'APPI Art. 25',
    message: {
      en: "The contractor's latest inspection is older than the policy's inspection interval.",
      ja: '委託先の直近の点検が点検間隔を過ぎています。'
    }
  },
  consent_on_record: {
    clause: '2(5)',
    law: 'APPI Art. 27(1)',
    message: {
      en: "The member's consent to provision to this recipient is on record and in effect.",
      ja: 'この提供先への提供について本人の同意が記録され、有効です。'
    }
  },
  recipient_unknown: {
    clause: 'II',
    message: {
      en: 'No registered recipient has this id; the notice names only its §II recipients.',
      ja: '登録された提供先ではありません。提供先はⅡに記載の第三者に限られます。'
    }
  },
  recipient_inactive: {
    clause: 'II',
    message: {
      en: 'The recipient is deactivated.',
      ja: 'この提供先は無効化されています。'
    }
  },
  purpose_not_allowed: {
    clause: 'II',
    message: {
      en: "This purpose is not the one §II gives for the recipient's category.",
      ja: 'この利用目的は、提供先の区分についてⅡが定める目的ではありません。'
    }
  },
  service_category_not_allowed: {
    clause: 'II',
    message: {
      en: "The kind of goods or service is missing, or is not the one §II gives for the recipient's category.",
      ja: '商品・サービスの範囲の指定がないか、提供先の区分についてⅡが定めるものではありません。'
    }
  },
  items_not_necessary: {
    clause: 'II',
    message: {
      en: "Some items are not among the necessary items for the recipient's category.",
      ja: '提供先の区分に必要な項目以外の項目が含まれています。'
    }
  },
  sensitive_item: {
    // The deny rests on the notice, not on Art. 27(2): that article bars only opt-out provision,
    // and provision with consent (Art. 27(1)) would be lawful. §II provides only the necessary
    // items, and the co-op's rule keeps sensitive items out of third-party provision.
    clause: 'II',
    law: 'APPI Art. 27(2) forbids only opt-out provision; with consent (Art. 27(1)) it is lawful',
    message: {
      en: "Sensitive personal information (要配慮個人情報) is not among the necessary items §II provides, and the co-op's rule keeps it out of third-party provision. The law forbids only its opt-out provision (APPI Art. 27(2)); with the member's consent it would be lawful.",
      ja: '要配慮個人情報はⅡにより提供する「必要な個人情報」に含まれず、生協の規則により第三者提供しません。法律が禁じるのはオプトアウトによる提供のみで(個人情報保護法第27条第2項)、本人の同意があれば適法です。'
    }
  },
  method_not_allowed: {
    clause: 'II',
    message: {
      en: 'The notice provides only by sending documents or transmitting electronic data.',
      ja: '提供方法は書面の送付または電子データの送信に限られます。'
    }
  },
  consent_missing: {
    clause: '2(5)',
    law: 'APPI Art. 27(1)',
    message: {
      en: 'No consent of the member to provision to this recipient is on record.',
      ja: 'この提供先への提供について本人の同意の記録がありません。'
    }
  },
  consent_withdrawn: {
    clause: '2(5)',
    law: 'APPI Art. 27(1)',
    message: {
      en: "The member's consent to provision to this recipient was withdrawn.",
      ja: 'この提供先への提供についての本人の同意は撤回されています。'
    }
  },
  consent_items_not_covered: {
    clause: '2(5)',
    law: 'APPI Art. 27(1)',
    message: {
      en: "The member's consent does not cover all of these items.",
      ja: '本人の同意はこれらの項目をすべて含んでいません。'
    }
  },
  provision_suspended: {
    clause: '2(5)',
    law: 'APPI Art. 35(3), 35(5)',
    message: {
      en: 'The member has asked for third-party provision to stop; it is suspended.',
      ja: '本人の請求により第三者提供は停止されています。'
    }
  },
  legal_obligation: {
    clause: '2(5)a',
    law: 'APPI Art. 27(1)(i)',
    message: {
      en: 'A law obliges provision to a third party or a government agency; the basis and its approver are recorded.',
      ja: '法令により提供が義務付けられている場合に該当し、根拠と承認者が記録されています。'
    }
  },
  vital_interest: {
    clause: '2(5)b',
    law: 'APPI Art. 27(1)(ii)',
    message: {
      en: "Provision is judged necessary to protect a person's life, body or property and the person's consent is hard to obtain; the basis, why consent could not be obtained and the approver are recorded.",
      ja: '人の生命、身体又は財産の保護のために必要であり、本人の同意を得ることが困難な場合に該当し、根拠、同意を得られない理由と承認者が記録されています。'
    }
  },
  consent_impracticability_missing: {
    clause: '2(5)b',
    law: 'APPI Art. 27(1)(ii)',
    message: {
      en: "Provision to protect a person's life, body or property is lawful only when the person's consent is hard to obtain; the request does not say why it could not be obtained (exception.consentImpracticable).",
      ja: '人の生命、身体又は財産の保護のための提供は、本人の同意を得ることが困難であるときに限られます。同意を得られない理由(exception.consentImpracticable)が記載されていません。'
    }
  },
  recipient_abroad: {
    clause: 'II',
    law: 'APPI Art. 28(1); PPC rule 17(2)',
    message: {
      en: "The recipient is in a country outside Japan that the PPC has not designated. Provision to it needs a consent given with the information of PPC rule 17(2) (the country, its personal-information protection system, the recipient's measures) recorded as the consent's foreignRecipient for that country, or the recipient's equivalent-measures system checked within the last year (Art. 28(1), 28(3)); neither is on record.",
      ja: '提供先は、個人情報保護委員会が指定していない外国にあります。提供には、規則第17条第2項の情報(国名、その国の個人情報保護制度、提供先が講ずる措置)を提供した上での同意(同意の foreignRecipient に当該国を記録)か、直近1年以内に確認した提供先の基準適合体制(法第28条第1項・第3項)が必要ですが、いずれも記録がありません。'
    }
  },
  contractor_abroad: {
    clause: '2(3)',
    law: 'APPI Art. 28(1); PPC rule 17(2)',
    message: {
      en: "The contractor is in a country outside Japan that the PPC has not designated, and entrustment abroad is a provision to a third party abroad (Art. 28(1)). It needs the member's consent to this contractor given with the information of PPC rule 17(2) (foreignRecipient for that country), or the contractor's equivalent-measures system checked within the last year (Art. 28(3)); neither is on record.",
      ja: '委託先は、個人情報保護委員会が指定していない外国にあります。外国への委託は外国にある第三者への提供に当たります(法第28条第1項)。規則第17条第2項の情報(当該国の foreignRecipient)を提供した上でのこの委託先への本人の同意か、直近1年以内に確認した委託先の基準適合体制(法第28条第3項)が必要ですが、いずれも記録がありません。'
    }
  },
  abroad_consent_on_record: {
    clause: '2(5)',
    law: 'APPI Art. 28(1); PPC rule 17(2)',
    message: {
      en: 'The member consented to provision to this party abroad after being given the information of PPC rule 17(2); the provision is recorded (Art. 29).',
      ja: '本人は、規則第17条第2項の情報の提供を受けた上で、外国にあるこの相手先への提供に同意しています。提供は記録されます(法第29条)。'
    }
  },
  abroad_equivalent_measures: {
    clause: '2(5)',
    law: 'APPI Art. 28(1), 28(3)',
    message: {
      en: 'The party abroad has an equivalent-measures system (基準適合体制) on record, checked within the last year; the provision is recorded (Art. 29).',
      ja: '外国にある相手先には基準適合体制の記録があり、直近1年以内に確認されています。提供は記録されます(法第29条)。'
    }
  },
  provider_unknown: {
    clause: '2(2)',
    law: 'APPI Art. 27(5)(iii)',
    message: {
      en: 'The provider is not a legal person responsible for management under 2(2): it must be the federation or an active member co-op registered in GET /v1/entities.',
      ja: '提供者が2(2)の管理責任者ではありません。コープ自然派事業連合、または GET /v1/entities に登録された有効な会員生協である必要があります。'
    }
  },
  use_suspended: {
    clause: '2(7)',
    law: 'APPI Art. 35(1), 35(5)',
    message: {
      en: 'The member has asked the co-op to stop using their personal information; every use but a statutory exception is suspended.',
      ja: '本人の請求により個人情報の利用は停止されています。法令等に基づく提供を除き、利用できません。'
    }
  },
  contract_not_signed: {
    clause: '2(4)',
    law: 'APPI Art. 25',
    message: {
      en: 'The contract that would cover this is not signed yet; an entrustment counts from the signing, not from the start of validity.',
      ja: '対象となる委託契約はまだ締結されていません。委託は契約の締結後に限られます。'
    }
  },
  client_scope: {
    clause: '2(9)',
    message: {
      en: 'The calling system is not permitted this channel or purpose, or may not act for the provider it named (only an admin acts for another provider).',
      ja: '呼び出し元のシステムには、この経路または利用目的が許可されていないか、指定した提供者として行う権限がありません(他の提供者として行えるのは admin のみです)。'
    }
  }
} as const satisfies Record<string, ReasonDefinition>

export type ReasonCode = keyof typeof REASONS

/**
 * Warnings of the service's own, beside those the policy lint finds in the notice: a decision is
 * made all the same, and the warning says what a careful reader should check.
 */
export const WARNINGS = {
  member_unseen: {
    clause: '2(6)',
    message: {
      en: 'Nothing was ever recorded for this member id (no consent, suspension or ledger entry). Check the member number: a typing error, such as a missing hyphen, would read as a member without consent.',
      ja: 'この組合員番号については、同意・停止・台帳の記録が一度もありません。組合員番号をご確認ください(ハイフンの欠落などの誤りは、同意のない組合員として扱われます)。'
    }
  }
} as const satisfies Record<string, { clause: string; message: Bilingual }>

export type WarningCode = PolicyWarningCode | keyof typeof WARNINGS
export const WARNING_CODES: readonly WarningCode[] = Object.freeze([...POLICY_WARNING_CODES, ...(Object.keys(WARNINGS) as (keyof typeof WARNINGS)[])])

/** The ja and en texts of a warning. */
export function warningText(code: WarningCode): Bilingual {
  return code in WARNINGS ? WARNINGS[code as keyof typeof WARNINGS].message : policyWarningText(code as PolicyWarningCode)
}
export const REASON_CODES = Object.freeze(Object.keys(REASONS) as ReasonCode[])
