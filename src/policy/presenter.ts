import type { Bilingual } from './document.js'
import type { Decision } from './engine.js'
import type { ProviderDetail, ProviderDetails } from './provider.js'
import { REASONS, warningText } from './reasons.js'

export type Language = 'ja' | 'en'

/** Picks `ja` or `en` from Accept-Language by quality; English when neither is asked for. */
export function preferredLanguage(header: string | undefined): Language {
  if (!header) return 'en'
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';')
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined)
      return { tag, q: q === undefined ? 1 : Number(q), index }
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
  for (const { tag } of ranked) {
    if (tag === 'ja' || tag.startsWith('ja-')) return 'ja'
    if (tag === 'en' || tag.startsWith('en-')) return 'en'
  }
  return 'en'
}

export interface PresentedDecision extends Omit<Decision, 'reasons' | 'providerDetails' | 'warnings'> {
  readonly reasons: (Decision['reasons'][number] & { message: string })[]
  readonly warnings: (Decision['warnings'][number] & { message: string })[]
  readonly providerDetails?: ProviderDetails & { readonly message: string }
}

const DETAIL_NAMES: Record<ProviderDetail, Bilingual> = {
  name: { ja: '名称', en: 'name' },
  address: { ja: '住所', en: 'address' },
  representative: { ja: '代表者', en: 'representative' },
  acquisition: { ja: '取得の経緯', en: 'how the data was obtained' }
}

/** Tells the calling system what to do with the details, and says plainly which ones the notice lacks. */
function providerMessage(details: ProviderDetails, language: Language): string {
  const send =
    language === 'ja'
      ? '提供先は、提供者の名称・住所・代表者及び取得の経緯を確認し記録する必要があります(個人情報保護法第30条)。これらの事項をデータとともに送付してください。'
      : 'The recipient must confirm and record the provider’s name, address, representative and how it obtained the data (APPI Art. 30): send these details along with the data.'
  if (details.missing.length === 0) return send
  const names = details.missing.map((m) => DETAIL_NAMES[m][language])
  return language === 'ja'
    ? `${send}ただし、通知に記載がないため、次の事項はまだ提供できません: ${names.join('、')}(GET /v1/policy の warnings を参照)。`
    : `${send} The notice does not state the following yet, so they cannot be given: ${names.join(', ')} (see the warnings of GET /v1/policy).`
}

export function presentDecision(decision: Decision, language: Language): PresentedDecision {
  const { providerDetails, warnings: _warnings, ...rest } = decision
  return {
    ...rest,
    reasons: decision.reasons.map((r) => ({ ...r, message: REASONS[r.code].message[language] })),
    warnings: decision.warnings.map((w) => ({ ...w, message: warningText(w.code)[language] })),
    ...(providerDetails === undefined ? {} : { providerDetails: { ...providerDetails, message: providerMessage(providerDetails, language) } })
  }
}
