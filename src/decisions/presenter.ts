import type { Decision } from '../policy/engine.js'
import { REASONS } from '../policy/reasons.js'

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

export interface PresentedDecision extends Omit<Decision, 'reasons'> {
  readonly reasons: (Decision['reasons'][number] & { message: string })[]
}

export function presentDecision(decision: Decision, language: Language): PresentedDecision {
  return {
    ...decision,
    reasons: decision.reasons.map((r) => ({ ...r, message: REASONS[r.code].message[language] }))
  }
}
