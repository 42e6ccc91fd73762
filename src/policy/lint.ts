import type { Bilingual, Party, PolicyDocument } from './document.js'

/**
 * The notice linted against APPI: what a version fails to state that the law asks a notice to
 * state. Computed from the document alone, so a version that states what was missing clears
 * its warning without anyone editing a list by hand.
 */
export interface PolicyWarning extends Bilingual {
  readonly code: PolicyWarningCode
  /** The APPI article the notice falls short of. */
  readonly article: string
  /** The clause of the notice the gap is in. */
  readonly clause: string
}

export const POLICY_WARNING_CODES = [
  'joint_use_responsible_party_address',
  'joint_use_responsible_party_representative',
  'joint_use_joint_user_purposes',
  'joint_use_joint_users_not_named',
  'vital_interest_consent_impracticable',
  'provision_abroad_not_stated'
] as const
export type PolicyWarningCode = (typeof POLICY_WARNING_CODES)[number]

/**
 * Parties that stand for several bodies. The first notice says 会員生協 without naming any, so
 * nothing in its data marks the party as a group; the id is the only handle there is.
 */
const GROUP_PARTIES: readonly string[] = ['member_coops']

const responsible = (policy: PolicyDocument): Party[] => policy.parties.filter((p) => p.role === 'responsible_for_management')

interface Rule extends Bilingual {
  readonly code: PolicyWarningCode
  readonly article: string
  readonly clause: (policy: PolicyDocument) => string
  /** True when the document fails to state what the rule asks for. */
  readonly fails: (policy: PolicyDocument) => boolean
}

const jointUseClause = (policy: PolicyDocument) => policy.jointUse.clause
const JOINT_USE = 'APPI Art. 27(5)(iii)'

const RULES: readonly Rule[] = [
  {
    code: 'joint_use_responsible_party_address',
    article: JOINT_USE,
    clause: jointUseClause,
    fails: (policy) => responsible(policy).some((p) => p.address === undefined),
    en: 'The notice names the parties responsible for managing the joint use but not their address.',
    ja: '共同利用について管理に責任を有する者の住所が記載されていません。'
  },
  {
    code: 'joint_use_responsible_party_representative',
    article: JOINT_USE,
    clause: jointUseClause,
    fails: (policy) => responsible(policy).some((p) => p.representative === undefined),
    en: 'The notice names the parties responsible for managing the joint use but not their representatives.',
    ja: '共同利用について管理に責任を有する者の代表者の氏名が記載されていません。'
  },
  {
    code: 'joint_use_joint_user_purposes',
    article: JOINT_USE,
    clause: jointUseClause,
    fails: (policy) => policy.jointUse.jointUserPurposes === undefined,
    en: "The notice does not state the purposes for which JCCU, the joint user, uses the data; §I lists the co-op's own purposes only.",
    ja: '共同利用者である日本生活協同組合連合会の利用目的が記載されていません。Ⅰは生協自身の利用目的のみです。'
  },
  {
    code: 'joint_use_joint_users_not_named',
    article: JOINT_USE,
    clause: jointUseClause,
    fails: (policy) => policy.parties.some((p) => GROUP_PARTIES.includes(p.id) && (p.members === undefined || p.members.length === 0)),
    en: 'The notice makes the member co-ops joint users without naming them, so a member cannot tell who the joint users are.',
    ja: '共同利用者である会員生協の名称が記載されておらず、共同して利用する者の範囲が分かりません。'
  },
  {
    code: 'vital_interest_consent_impracticable',
    article: 'APPI Art. 27(1)(ii)',
    clause: (policy) => policy.exceptions.find((e) => e.basis === 'vital_interest')?.clause ?? '2(5)',
    fails: (policy) => policy.exceptions.some((e) => e.basis === 'vital_interest' && e.condition === undefined),
    en: "The clause allows provision to protect life, body or property without the law's condition: only when the person's consent is hard to obtain. The service applies the condition all the same.",
    ja: '法律の要件である「本人の同意を得ることが困難であるとき」が記載されていません。本サービスはこの要件を適用しています。'
  },
  {
    code: 'provision_abroad_not_stated',
    article: 'APPI Art. 28',
    clause: () => 'II',
    fails: (policy) => policy.provisionAbroad === undefined,
    en: 'The notice says nothing of provision to third parties abroad. The service allows a provision, or an entrustment, to a country the PPC has not designated only on a consent given with the information of PPC rule 17(2), or on an equivalent-measures system checked within the last year (APPI Art. 28).',
    ja: '外国にある第三者への提供について記載がありません。本サービスは、個人情報保護委員会が指定していない国への提供または委託を、規則第17条第2項の情報を提供した上での同意、または直近1年以内に確認した基準適合体制がある場合に限り認めます(個人情報保護法第28条)。'
  }
]

/** The texts of a lint warning, by its code. */
export function policyWarningText(code: PolicyWarningCode): Bilingual {
  const rule = RULES.find((r) => r.code === code)!
  return { ja: rule.ja, en: rule.en }
}

/** Every warning for `policy`, in a fixed order. Pure. */
export function lintPolicy(policy: PolicyDocument): PolicyWarning[] {
  return RULES.filter((rule) => rule.fails(policy)).map((rule) => ({
    code: rule.code,
    article: rule.article,
    clause: rule.clause(policy),
    ja: rule.ja,
    en: rule.en
  }))
}
