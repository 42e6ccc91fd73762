import { deepFreeze, type PolicyDocument } from './document.js'
import { PURPOSES } from './vocabulary.js'

/**
 * The first published version of 「個人情報の取扱いについて」. The `ja` texts are quoted from
 * shared/policy/privacy-notice.ja.txt, the authority; the `en` texts follow privacy-notice.md.
 * Never edit a published version: add a new document with a new version instead.
 */
export const noticeV1: PolicyDocument = deepFreeze({
  version: '2026-11-01.1',
  effectiveFrom: '2026-11-01T00:00:00+09:00',
  title: { ja: '個人情報の取扱いについて', en: 'Handling of personal information' },
  parties: [
    {
      id: 'shizenha',
      name: { ja: '生活協同組合連合会コープ自然派事業連合', en: 'Co-op Shizenha federation' },
      role: 'responsible_for_management'
    },
    { id: 'member_coops', name: { ja: '会員生協', en: 'Member co-ops of the federation' }, role: 'responsible_for_management' },
    {
      id: 'JCCU',
      name: { ja: '日本生活協同組合連合会', en: "Japanese Consumers' Co-operative Union (JCCU)" },
      role: 'joint_user'
    }
  ],
  clauses: [
    {
      id: '1',
      ja: '生活協同組合連合会コープ自然派事業連合と会員生協は、個人情報保護への社会的要請の高まりを認識し、組合員の皆様に安心してご利用いただけるよう事業活動のあらゆる面で個人情報保護に配慮して行動します。',
      en: "The federation and member co-ops recognise society's demand for personal-information protection and act with it in mind in every part of their business, so that members can use them with peace of mind."
    },
    {
      id: '2',
      ja: 'コープ自然派事業連合と会員生協は、適切な個人情報の収集および利用の基準とこれを厳正に運用するため、個人情報の取扱に関する規則を定め、個人情報への不正アクセス・個人情報の紛失・破壊・改ざん及び漏えいなどを防止するための行動規範・具体的ルールを定めています。',
      en: 'Rules for collecting and using personal information, and a code of conduct to prevent unauthorised access, loss, destruction, alteration and leakage.'
    },
    {
      id: '2(1)',
      ja: '個人情報の収集は、その利用目的、利用内容を明確にし、適法かつ公正な手段により行います。コープ自然派事業連合と会員生協における個人情報の利用目的は下記の通りです。',
      en: 'Collection only with a clear purpose and use, by lawful and fair means. The purposes are §I below.'
    },
    {
      id: '2(2)',
      ja: '収集した個人情報は、その全ての項目につき、コープ自然派事業連合と会員生協、及び日本生活協同組合連合会とで共同利用します。その管理についてはコープ自然派事業連合と会員生協が責任を持ちます。',
      en: 'Joint use: every item of collected personal information is used jointly by the federation, the member co-ops and JCCU. The federation and member co-ops are responsible for its management.'
    },
    {
      id: '2(3)',
      ja: '下記に記載する事業活動のために、個人情報の処理を外部に委託する場合は、コープ自然派事業連合あるいは会員生協の管理の下に行います。',
      en: 'Entrustment: where processing for the activities below is outsourced, it is done under the management of the federation or a member co-op.'
    },
    {
      id: '2(4)',
      ja: 'コープ自然派事業連合あるいは会員生協が個人情報の処理を外部に委託する場合、業務委託先に対して、個人情報の適切な取扱を確保するための契約締結、実施状況の点検等を行います。',
      en: 'When outsourcing, they conclude a contract that ensures appropriate handling with the contractor, and inspect how it is carried out.'
    },
    {
      id: '2(5)',
      ja: '収集した個人情報は以下のいずれかに該当する場合を除き、本人の許可なく第三者に一切提供・開示いたしません。',
      en: "No third-party provision or disclosure without the person's permission, except:"
    },
    {
      id: '2(5)a',
      ja: '法令により第三者又は行政官庁に対して当該情報を提供する事を義務付けられている場合',
      en: 'where a law obliges provision to a third party or a government agency;'
    },
    {
      id: '2(5)b',
      ja: '人の生命、身体又は財産の保護のために必要と判断される場合。',
      en: "where it is judged necessary to protect a person's life, body or property."
    },
    {
      id: '2(6)',
      ja: '収集した個人情報は、正確かつ最新の状態に保ち、個人情報への不正なアクセス、紛失・破損・改ざん及び漏えい等を防止するための措置を講じます。',
      en: 'Keep personal information accurate and current; take measures against unauthorised access, loss, damage, alteration and leakage.'
    },
    {
      id: '2(7)',
      ja: '本人からの個人情報の取扱に関するお問い合わせには、コープ自然派事業連合と会員組合がそれぞれ定める「個人情報保護規定」に基づいて対応します。',
      en: "Inquiries from the person about the handling of their information are answered under each body's Personal Information Protection Rules."
    },
    {
      id: '2(8)',
      ja: '個人情報を取り扱う業務の遂行にあたっては、個人情報に関する法令などを遵守するとともに、コープ自然派事業連合と会員組合がそれぞれ定める「個人情報保護規定」に従います。',
      en: 'Comply with the law and with those Rules.'
    },
    {
      id: '2(9)',
      ja: 'コープ自然派事業連合と会員生協は、個人情報を取り扱う部門毎に管理者を置き、規則を実践・遵守します。',
      en: 'Each department that handles personal information has a manager who puts the rules into practice.'
    },
    {
      id: 'I',
      ja: '生活協同組合連合会コープ自然派事業連合と会員生協は、以下の目的のために個人情報を利用します。',
      en: 'The federation and member co-ops use personal information for the following purposes.'
    },
    { id: 'I.1', ja: '生協組合員募集のご案内', en: 'Inviting people to join the co-op' },
    { id: 'I.2', ja: '商品・サービス情報を提供するため', en: 'Providing information on goods and services' },
    { id: 'I.3', ja: '商品・サービスのご注文をいただくため', en: 'Taking orders for goods and services' },
    { id: 'I.4', ja: '商品のお届けまたはサービスの提供のため', en: 'Delivering goods and providing services' },
    { id: 'I.5', ja: '商品・サービスの提供を斡旋するため', en: 'Brokering the provision of goods and services' },
    { id: 'I.6', ja: '商品・サービスの代金の請求及び回収のため', en: 'Billing and collecting payment for goods and services' },
    { id: 'I.7', ja: 'アフターサービスを提供のため', en: 'After-sales service' },
    { id: 'I.8', ja: '商品事故等緊急の連絡をするため', en: 'Urgent contact, such as about a product incident' },
    { id: 'I.9', ja: 'アンケートなどによりご意見をいただくため', en: "Hearing members' opinions through surveys" },
    { id: 'I.10', ja: '福祉関連サービスにおける各種手続き代行のため', en: "Carrying out procedures on members' behalf in welfare-related services" },
    { id: 'I.11', ja: '組合員の出資金を管理するため', en: "Managing members' capital contributions" },
    { id: 'I.12', ja: '組合員の加入登録、組合員情報の変更、脱退登録のため', en: 'Member enrolment, changes to member information, withdrawal from membership' },
    { id: 'I.13', ja: '組合員の生活の改善及び文化の向上に関する活動を推進するため', en: "Promoting activities that improve members' lives and culture" },
    {
      id: 'I.14',
      ja: '総代会など生協の機関運営を円滑に進めるため',
      en: "Running the co-op's governing bodies smoothly, such as the delegates' general meeting"
    },
    { id: 'S', ja: '※商品・サービスの範囲は以下の通りです。', en: 'Scope of goods and services:' },
    {
      id: 'S.1',
      ja: '生協の共同購入(個人宅配を含む)にて取り扱う食品・日用雑貨品などの商品',
      en: 'Food, daily goods and other goods of joint purchasing, home delivery included'
    },
    { id: 'S.2', ja: '共済・保険', en: 'Mutual aid and insurance' },
    { id: 'S.3', ja: '住宅関連サービス', en: 'Housing-related services' },
    { id: 'S.4', ja: '旅行サービス', en: 'Travel services' },
    { id: 'S.5', ja: '福祉関連サービス', en: 'Welfare-related services' },
    { id: 'S.6', ja: 'その他生活関連サービス', en: 'Other life-related services' },
    {
      id: 'II',
      ja: '生活協同組合連合会コープ自然派事業連合と会員生協は、住所・氏名、その他必要な個人情報を下記の第三者に書面の送付または電子データの送信にて提供します。',
      en: 'Address, name and other necessary personal information is provided to the following third parties, by sending documents or transmitting electronic data.'
    },
    { id: 'II.1', ja: '保険会社:保険を斡旋するために', en: 'Insurance companies: for brokering insurance' },
    {
      id: 'II.2',
      ja: '提携宿泊施設及び旅行業者など:旅行サービス斡旋のために',
      en: 'Partner lodging facilities and travel agencies: for brokering travel services'
    },
    { id: 'II.3', ja: '金融機関:口座引落または振込のため', en: 'Financial institutions: for account debit or bank transfer' },
    { id: 'II.4', ja: '信販会社:クレジット契約及び決済のために', en: 'Consumer-credit companies: for credit contracts and settlement' },
    {
      id: 'II.5',
      ja: '組合員活動に関係する組合員:組合員の生活の改善及び文化の向上に関する活動を推進するため',
      en: "Members involved in member activities: promoting activities that improve members' lives and culture"
    }
  ],
  purposes: [
    { id: 'membership_invitation', clause: 'I.1', ja: '生協組合員募集のご案内', en: 'Inviting people to join the co-op' },
    { id: 'product_information', clause: 'I.2', ja: '商品・サービス情報を提供するため', en: 'Providing information on goods and services' },
    { id: 'ordering', clause: 'I.3', ja: '商品・サービスのご注文をいただくため', en: 'Taking orders for goods and services' },
    { id: 'delivery', clause: 'I.4', ja: '商品のお届けまたはサービスの提供のため', en: 'Delivering goods and providing services' },
    { id: 'brokerage', clause: 'I.5', ja: '商品・サービスの提供を斡旋するため', en: 'Brokering the provision of goods and services' },
    { id: 'billing', clause: 'I.6', ja: '商品・サービスの代金の請求及び回収のため', en: 'Billing and collecting payment for goods and services' },
    { id: 'after_sales', clause: 'I.7', ja: 'アフターサービスを提供のため', en: 'After-sales service' },
    { id: 'urgent_contact', clause: 'I.8', ja: '商品事故等緊急の連絡をするため', en: 'Urgent contact, such as about a product incident' },
    { id: 'survey', clause: 'I.9', ja: 'アンケートなどによりご意見をいただくため', en: "Hearing members' opinions through surveys" },
    {
      id: 'welfare_procedures',
      clause: 'I.10',
      ja: '福祉関連サービスにおける各種手続き代行のため',
      en: "Carrying out procedures on members' behalf in welfare-related services"
    },
    { id: 'capital_contribution', clause: 'I.11', ja: '組合員の出資金を管理するため', en: "Managing members' capital contributions" },
    {
      id: 'membership_records',
      clause: 'I.12',
      ja: '組合員の加入登録、組合員情報の変更、脱退登録のため',
      en: 'Member enrolment, changes to member information, withdrawal from membership'
    },
    {
      id: 'member_activities',
      clause: 'I.13',
      ja: '組合員の生活の改善及び文化の向上に関する活動を推進するため',
      en: "Promoting activities that improve members' lives and culture"
    },
    { id: 'governance', clause: 'I.14', ja: '総代会など生協の機関運営を円滑に進めるため', en: "Running the co-op's governing bodies smoothly" }
  ],
  serviceCategories: [
    {
      id: 'joint_purchasing',
      clause: 'S.1',
      ja: '生協の共同購入(個人宅配を含む)にて取り扱う食品・日用雑貨品などの商品',
      en: 'Goods of joint purchasing, home delivery included'
    },
    { id: 'mutual_aid_insurance', clause: 'S.2', ja: '共済・保険', en: 'Mutual aid and insurance' },
    { id: 'housing', clause: 'S.3', ja: '住宅関連サービス', en: 'Housing-related services' },
    { id: 'travel', clause: 'S.4', ja: '旅行サービス', en: 'Travel services' },
    { id: 'welfare', clause: 'S.5', ja: '福祉関連サービス', en: 'Welfare-related services' },
    { id: 'other_living', clause: 'S.6', ja: 'その他生活関連サービス', en: 'Other life-related services' }
  ],
  recipientCategories: [
    {
      id: 'insurer',
      clause: 'II.1',
      ja: '保険会社:保険を斡旋するために',
      en: 'Insurance companies: for brokering insurance',
      purposes: ['brokerage'],
      serviceCategories: ['mutual_aid_insurance'],
      necessaryItems: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'member_number', 'insurance_application']
    },
    {
      id: 'travel_provider',
      clause: 'II.2',
      ja: '提携宿泊施設及び旅行業者など:旅行サービス斡旋のために',
      en: 'Partner lodging facilities and travel agencies: for brokering travel services',
      purposes: ['brokerage'],
      serviceCategories: ['travel'],
      necessaryItems: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'travel_booking']
    },
    {
      id: 'financial_institution',
      clause: 'II.3',
      ja: '金融機関:口座引落または振込のため',
      en: 'Financial institutions: for account debit or bank transfer',
      purposes: ['billing'],
      serviceCategories: null,
      necessaryItems: ['name', 'name_kana', 'member_number', 'bank_account', 'billing_amount']
    },
    {
      id: 'credit_company',
      clause: 'II.4',
      ja: '信販会社:クレジット契約及び決済のために',
      en: 'Consumer-credit companies: for credit contracts and settlement',
      purposes: ['billing'],
      serviceCategories: null,
      necessaryItems: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'credit_card', 'billing_amount']
    },
    {
      id: 'member_activity',
      clause: 'II.5',
      ja: '組合員活動に関係する組合員:組合員の生活の改善及び文化の向上に関する活動を推進するため',
      en: "Members involved in member activities: promoting activities that improve members' lives and culture",
      purposes: ['member_activities'],
      serviceCategories: null,
      necessaryItems: ['name', 'address', 'phone', 'activity_participation']
    }
  ],
  methods: [
    { id: 'document', ja: '書面の送付', en: 'Sending documents' },
    { id: 'electronic', ja: '電子データの送信', en: 'Transmitting electronic data' }
  ],
  dataItems: [
    { id: 'name', ja: '氏名', en: 'Name', sensitive: false },
    { id: 'name_kana', ja: '氏名(カナ)', en: 'Name in kana', sensitive: false },
    { id: 'address', ja: '住所', en: 'Address', sensitive: false },
    { id: 'phone', ja: '電話番号', en: 'Phone number', sensitive: false },
    { id: 'email', ja: 'メールアドレス', en: 'Email address', sensitive: false },
    { id: 'member_number', ja: '組合員番号', en: 'Member number', sensitive: false },
    { id: 'date_of_birth', ja: '生年月日', en: 'Date of birth', sensitive: false },
    { id: 'household', ja: '世帯情報', en: 'Household', sensitive: false },
    { id: 'bank_account', ja: '口座情報', en: 'Bank account', sensitive: false },
    { id: 'credit_card', ja: 'クレジットカード情報', en: 'Credit card', sensitive: false },
    { id: 'billing_amount', ja: '請求金額', en: 'Billing amount', sensitive: false },
    { id: 'order_history', ja: '注文履歴', en: 'Order history', sensitive: false },
    { id: 'capital_contribution', ja: '出資金', en: 'Capital contribution', sensitive: false },
    { id: 'insurance_application', ja: '共済・保険の申込内容', en: 'Insurance application', sensitive: false },
    { id: 'travel_booking', ja: '旅行の予約内容', en: 'Travel booking', sensitive: false },
    { id: 'activity_participation', ja: '組合員活動への参加', en: 'Participation in member activities', sensitive: false },
    { id: 'health_care', ja: '病歴・介護等の情報(要配慮個人情報)', en: 'Health and care information (sensitive)', sensitive: true }
  ],
  exceptions: [
    {
      basis: 'legal_obligation',
      clause: '2(5)a',
      law: 'APPI Art. 27(1)(i)',
      ja: '法令により第三者又は行政官庁に対して当該情報を提供する事を義務付けられている場合',
      en: 'where a law obliges provision to a third party or a government agency'
    },
    {
      basis: 'vital_interest',
      clause: '2(5)b',
      law: 'APPI Art. 27(1)(ii)',
      ja: '人の生命、身体又は財産の保護のために必要と判断される場合。',
      en: "where it is judged necessary to protect a person's life, body or property"
    }
  ],
  jointUse: { clause: '2(2)', jointUsers: ['JCCU'], items: 'all', purposes: [...PURPOSES] },
  channels: [
    { id: 'joint_use', clauses: ['2(2)'], ja: '共同利用', en: 'Joint use with JCCU' },
    { id: 'entrustment', clauses: ['2(3)', '2(4)'], ja: '業務委託', en: 'Entrustment to contractors' },
    { id: 'third_party', clauses: ['II', '2(5)'], ja: '第三者提供', en: 'Third-party provision with consent' },
    { id: 'statutory_exception', clauses: ['2(5)a', '2(5)b'], ja: '法令等に基づく提供', en: 'Statutory exceptions' }
  ],
  contractorInspectionIntervalDays: 365,
  provisionRecordRetention: 'P3Y',
  gaps: [
    {
      ja: '共同利用の管理責任者の住所及び代表者の氏名が記載されていない(個人情報保護法第27条第5項第3号)。',
      en: 'The notice names the parties responsible for joint use but not their address or representative (APPI Art. 27(5)(iii)).'
    }
  ]
})
