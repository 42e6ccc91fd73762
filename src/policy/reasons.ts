import type { Bilingual } from './document.js'

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
      en: 'Joint use with JCCU of every item, for a purpose of §I, as announced in the notice.',
      ja: '通知された共同利用(日本生活協同組合連合会、全項目、Ⅰの利用目的)に該当します。'
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
      en: 'The notice announces joint use with JCCU only; this party is not a joint user.',
      ja: '共同利用者は日本生活協同組合連合会のみです。この相手先は共同利用者ではありません。'
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
    clause: '2(5)',
    law: 'APPI Art. 27(2)',
    message: {
      en: 'Sensitive personal information (要配慮個人情報) never leaves through third-party provision.',
      ja: '要配慮個人情報は第三者提供できません。'
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
      en: "No consent of the member to provision to this recipient is on record.",
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
      en: "Provision is judged necessary to protect a person's life, body or property; the basis and its approver are recorded.",
      ja: '人の生命、身体又は財産の保護のために必要と判断される場合に該当し、根拠と承認者が記録されています。'
    }
  },
  client_scope: {
    clause: '2(9)',
    message: {
      en: 'The calling system is not permitted this channel or purpose.',
      ja: '呼び出し元のシステムには、この経路または利用目的が許可されていません。'
    }
  }
} as const satisfies Record<string, ReasonDefinition>

export type ReasonCode = keyof typeof REASONS
export const REASON_CODES = Object.freeze(Object.keys(REASONS) as ReasonCode[])
