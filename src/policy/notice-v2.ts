import { deepFreeze, type PolicyDocument, type RecipientCategoryEntry } from './document.js'
import { noticeV1 } from './notice-v1.js'

/**
 * The second version. The published text is unchanged; what changes is how the co-op reads
 * §II.3: 金融機関:口座引落または振込のため covers refunding capital contributions (I.11) by bank
 * transfer (振込) as well as billing, so the financial-institution row names I.11 and the amount
 * (capital_contribution) among its necessary items.
 *
 * Its hand-written `gaps` are left out: the lint (lint.ts) computes them from the document now.
 * Never edit a published version: add a new document with a new version instead.
 */
const { gaps: _superseded, ...base } = noticeV1

function extendFinancialInstitution(entry: RecipientCategoryEntry): RecipientCategoryEntry {
  if (entry.id !== 'financial_institution') return entry
  return {
    ...entry,
    purposes: ['billing', 'capital_contribution'],
    necessaryItems: [...entry.necessaryItems, 'capital_contribution']
  }
}

export const noticeV2: PolicyDocument = deepFreeze({
  ...base,
  version: '2027-04-01.1',
  effectiveFrom: '2027-04-01T00:00:00+09:00',
  recipientCategories: noticeV1.recipientCategories.map(extendFinancialInstitution)
})
