/**
 * The presenter outside the app: which language Accept-Language picks (RFC 9110 §12.5.4 weights,
 * the earlier tag on a tie, English when neither language is asked for), and the message telling a
 * calling system which provider details (APPI Art. 30) to send and which the notice lacks. The
 * routes' tests send one plain `ja` header; the weights and the message's lists are pinned here.
 */
import t from 'tap'
import type { Decision } from '../../src/policy/engine.js'
import { preferredLanguage, presentDecision, type Language } from '../../src/policy/presenter.js'
import type { ProviderDetails } from '../../src/policy/provider.js'
import { REASONS, WARNINGS } from '../../src/policy/reasons.js'

t.test('preferredLanguage', async (t) => {
  const rows: [header: string | undefined, expected: Language, why: string][] = [
    [undefined, 'en', 'no header'],
    ['', 'en', 'an empty header'],
    ['ja', 'ja', 'Japanese'],
    ['JA', 'ja', 'tags are case-insensitive'],
    ['ja-JP', 'ja', 'a regional Japanese'],
    ['en', 'en', 'English'],
    ['en-GB, ja;q=0.5', 'en', 'a regional English ranked first'],
    ['fr', 'en', 'neither: English'],
    ['fr, ja', 'ja', 'the first tag the service speaks'],
    ['fr, en', 'en', 'the first tag the service speaks, English'],
    ['jav', 'en', 'Javanese is not Japanese'],
    ['ena, ja', 'ja', 'a tag that only starts like en is not English'],
    ['en, ja;q=0.5', 'en', 'English at full weight over Japanese at half'],
    ['en;q=0.5, ja', 'ja', 'a higher weight wins over an earlier place'],
    ['en;q=0.1, ja', 'ja', 'a tag after a comma and a space'],
    ['ja;q=0.5, en;q=0.8', 'en', 'fractional weights compared'],
    ['en;q=0.5, ja;q=0.9', 'ja', 'fractional weights compared, the other way round'],
    ['ja;q=0.8, en;q=0.8', 'ja', 'on equal weights the earlier tag'],
    ['en;q=0.8, ja;q=0.8', 'en', 'on equal weights the earlier tag, the other way round'],
    ['fr;q=0.9, en;q=0.7, ja;q=0.7', 'en', 'equal weights behind a language the service does not speak'],
    ['de;q=0.9, fr;q=0.8, ja;q=0.7, en;q=0.6', 'ja', 'several weights in order'],
    ['en;q=0.6, fr;q=0.8, ja;q=0.7, de;q=0.9', 'ja', 'several weights out of order'],
    ['ja;q=0', 'en', 'weight 0 means not acceptable'],
    ['ja;q=0, en;q=0', 'en', 'neither acceptable: English'],
    ['ja; q=0', 'en', 'a space before the weight'],
    ['ja;level=1', 'ja', 'a parameter that is not a weight'],
    ['ja;level=1;q=0', 'en', 'the weight after another parameter'],
    ['ja;xq=0', 'ja', 'a parameter that only ends like a weight is no weight'],
    ['ja;q=0x', 'ja', 'a weight with trailing junk is no weight'],
    ['ja;q=0.5, en;q=0.8x', 'en', 'a malformed weight counts as full weight']
  ]
  for (const [header, expected, why] of rows) t.equal(preferredLanguage(header), expected, `${JSON.stringify(header)}: ${why}`)
})

const decision = (providerDetails?: ProviderDetails): Decision => ({
  decision: 'allow',
  reasons: [{ code: 'consent_on_record', clause: '2(5)', law: 'APPI Art. 27(1)' }],
  obligations: [{ code: 'items_limited_to', items: ['name'] }],
  policyVersion: '2026-11-01.1',
  providerId: 'shizenha',
  warnings: [{ code: 'member_unseen', clause: '2(6)' }],
  ...(providerDetails === undefined ? {} : { providerDetails })
})

const details = (missing: ProviderDetails['missing']): ProviderDetails => ({
  name: missing.includes('name') ? null : { ja: '生活協同組合連合会コープ自然派事業連合', en: 'Co-op Shizenha federation' },
  address: missing.includes('address') ? null : { ja: '大阪府(試験用)', en: '大阪府(試験用)' },
  representative: missing.includes('representative') ? null : { ja: '代表理事 試験', en: '代表理事 試験' },
  acquisition: missing.includes('acquisition') ? null : { clause: '2(1)', ja: '取得(試験用)', en: 'acquired (test)' },
  missing
})

const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff]/

t.test('presentDecision: reasons and warnings in the language asked for', async (t) => {
  for (const language of ['ja', 'en'] as const) {
    const presented = presentDecision(decision(), language)
    t.equal(presented.reasons[0]?.message, REASONS.consent_on_record.message[language], `${language}: the reason's message`)
    t.equal(presented.warnings[0]?.message, WARNINGS.member_unseen.message[language], `${language}: the warning's message`)
    t.equal(presented.providerDetails, undefined, `${language}: no details where the decision has none`)
  }
})

t.test('presentDecision: the provider-details message names what to send and what the notice lacks', async (t) => {
  const complete = { en: presentDecision(decision(details([])), 'en'), ja: presentDecision(decision(details([])), 'ja') }
  t.match(complete.en.providerDetails?.message, /APPI Art\. 30/, 'en: why')
  t.notMatch(complete.en.providerDetails?.message, JAPANESE, 'en: in English')
  t.notMatch(complete.en.providerDetails?.message, /does not state/, 'en: nothing is said to be missing')
  t.match(complete.ja.providerDetails?.message, /個人情報保護法第30条/, 'ja: why')
  t.notMatch(complete.ja.providerDetails?.message, /記載がない/, 'ja: nothing is said to be missing')
  t.strictSame(complete.en.providerDetails?.missing, [], 'the details are passed on as they are')

  const all = ['name', 'address', 'representative', 'acquisition'] as const
  const lacking = { en: presentDecision(decision(details([...all])), 'en'), ja: presentDecision(decision(details([...all])), 'ja') }
  t.match(
    lacking.en.providerDetails?.message,
    /The notice does not state the following yet, so they cannot be given: name, address, representative, how the data was obtained \(see the warnings of GET \/v1\/policy\)\./,
    'en: each missing detail by name, in order'
  )
  t.ok(lacking.en.providerDetails?.message.startsWith(complete.en.providerDetails?.message ?? '?'), 'en: after what to send')
  t.match(
    lacking.ja.providerDetails?.message,
    /次の事項はまだ提供できません: 名称、住所、代表者、取得の経緯\(GET \/v1\/policy の warnings を参照\)。/,
    'ja: each by name'
  )
  t.ok(lacking.ja.providerDetails?.message.startsWith(complete.ja.providerDetails?.message ?? '?'), 'ja: after what to send')

  const some = presentDecision(decision(details(['address', 'representative'])), 'en')
  t.match(some.providerDetails?.message, /cannot be given: address, representative \(/, 'en: only those missing')
})
