import { HOME_COUNTRY } from './vocabulary.js'

/**
 * Countries whose personal-information protection system the PPC has designated as equivalent to
 * Japan's (APPI Art. 28(1), PPC rule 15): a recipient or contractor there is treated as one in
 * Japan for Art. 28. Law, not notice: kept apart from the policy documents, with its sources.
 */
export const DESIGNATED_COUNTRIES = Object.freeze({
  source:
    '平成31年個人情報保護委員会告示第1号 (PPC Notice No. 1 of 2019): the EU member states and the EEA states (Iceland, Liechtenstein, Norway), and the United Kingdom, kept designated after it left the EU',
  /** When this list was written from those sources; a change of designation needs a new list. */
  listedOn: '2026-12-07',
  countries: Object.freeze([
    // EU member states
    'AT',
    'BE',
    'BG',
    'HR',
    'CY',
    'CZ',
    'DK',
    'EE',
    'FI',
    'FR',
    'DE',
    'GR',
    'HU',
    'IE',
    'IT',
    'LV',
    'LT',
    'LU',
    'MT',
    'NL',
    'PL',
    'PT',
    'RO',
    'SK',
    'SI',
    'ES',
    'SE',
    // EEA states outside the EU
    'IS',
    'LI',
    'NO',
    'GB'
  ] as const)
})

/** Whether a hand-off to `country` is a provision abroad for Art. 28 (neither Japan nor designated). */
export function isAbroadForArt28(country: string): boolean {
  return country !== HOME_COUNTRY && !(DESIGNATED_COUNTRIES.countries as readonly string[]).includes(country)
}

/**
 * How often a recipient's equivalent-measures system (基準適合体制) must be checked (Art. 28(3):
 * periodically; the PPC's guidelines on provision abroad expect about once a year).
 */
export const EQUIVALENT_MEASURES_CHECK_DAYS = 365

/** A recorded equivalent-measures system (Art. 28(1)) and its last periodic check (Art. 28(3)). */
export interface EquivalentMeasures {
  /** What the system rests on, e.g. the contract's clauses or an APEC CBPR certification. */
  readonly basis: string
  readonly lastCheckedAt: Date
}

/** A recorded equivalent-measures system as the API shows and stores it (the time as RFC 3339 text). */
export interface StoredMeasures {
  readonly basis: string
  readonly lastCheckedAt: string
}

/** Measures as the API shows them: the time normalized to UTC. */
export const storedMeasures = (json: StoredMeasures | null | undefined): StoredMeasures | null =>
  json ? { basis: json.basis, lastCheckedAt: new Date(json.lastCheckedAt).toISOString() } : null

/** Measures as stored or sent ({ basis, lastCheckedAt } with the time as text), as the engine reads them. */
export function equivalentMeasuresOf(stored: { readonly basis: string; readonly lastCheckedAt: string } | null | undefined): EquivalentMeasures | null {
  return stored ? { basis: stored.basis, lastCheckedAt: new Date(stored.lastCheckedAt) } : null
}

/** Whether `measures` were checked within the interval that ends at `now`. */
export function measuresCurrent(measures: EquivalentMeasures | null, now: Date): boolean {
  return measures !== null && measures.lastCheckedAt <= now && now.getTime() - measures.lastCheckedAt.getTime() <= EQUIVALENT_MEASURES_CHECK_DAYS * 86_400_000
}

/** The foreign-recipient information a consent was given with (PPC rule 17(2)). */
export interface ForeignRecipientInformation {
  /** ISO 3166-1 alpha-2 of the recipient's country. */
  readonly country: string
  /** What the member was told of that country's personal-information protection system. */
  readonly system: string
  /** What the member was told of the measures the recipient takes. */
  readonly measures: string
}
